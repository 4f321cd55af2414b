"""AK/SK: an EC2 credential made with the OpenStack CLI signs requests with
the Huawei Cloud SDK's own signer (huaweicloudsdkcore), sent with requests."""

from urllib.parse import urlparse

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer


def signed_get(netloc, ak, sk, project_id, path, query=()):
    request = SdkRequest(
        method="GET",
        schema="http",
        host=netloc,
        resource_path=path,
        query_params=list(query),
        header_params={"Content-Type": "application/json", "X-Project-Id": project_id},
        body="",
    )
    Signer(BasicCredentials(ak, sk, project_id)).sign(request)
    return requests.get(f"http://{netloc}{request.uri}", headers=request.header_params, timeout=30)


@pytest.fixture
def ec2_credential(cli):
    cred = cli("ec2", "credentials", "create")
    yield cred
    cli("ec2", "credentials", "delete", cred["access"], parse=False)


def test_huawei_sdk_signature_reaches_nova(demo, ec2_credential):
    project_id = demo.current_project_id
    netloc = urlparse(demo.session.get_endpoint(service_type="compute", interface="public")).netloc
    ak, sk = ec2_credential["access"], ec2_credential["secret"]
    assert len(ak) == 20 and len(sk) == 40

    r = signed_get(netloc, ak, sk, project_id, f"/v2.1/{project_id}/flavors", [("limit", 2), ("is_public", True)])
    assert r.status_code == 200, r.text
    assert len(r.json()["flavors"]) == 2

    r = signed_get(netloc, ak, "x" * 40, project_id, f"/v2.1/{project_id}/flavors")
    assert r.status_code == 401, r.text
