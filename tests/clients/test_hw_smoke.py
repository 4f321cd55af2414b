"""The Huawei Cloud SDK fixtures work: a signed EcsClient call."""

from huaweicloudsdkecs.v2 import EcsClient, ListFlavorsRequest


def test_hw_client_lists_flavors(hw):
    flavors = hw(EcsClient).list_flavors(ListFlavorsRequest()).flavors
    assert flavors and all(f.id for f in flavors)
