"""Every operation of huaweicloudsdkecs's EcsClient is called by some
Huawei SDK test (tests/clients/test_hw_*.py), as `<client>.<operation>(`."""

import inspect
import pathlib
import re

from huaweicloudsdkecs.v2 import EcsClient


def ecs_client_operations():
    return sorted(
        name for name, _ in inspect.getmembers(EcsClient, inspect.isfunction)
        if hasattr(EcsClient, f"_{name}_http_info")
    )


def test_every_ecs_client_operation_is_called():
    operations = ecs_client_operations()
    assert len(operations) >= 106
    here = pathlib.Path(__file__).parent
    called = set()
    for test_file in here.glob("test_hw_*.py"):
        called.update(re.findall(r"\.(\w+)\(", test_file.read_text()))
    missing = [op for op in operations if op not in called]
    assert not missing, f"EcsClient operations no test calls: {missing}"
