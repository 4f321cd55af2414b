"""AK/SK: an EC2 credential made with the OpenStack CLI signs requests with
the Huawei Cloud SDK's own signer (huaweicloudsdkcore), sent with requests."""

import time
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


def test_huawei_ecs_sdk_shows_and_lists_servers(demo, ec2_credential):
    """The real `huaweicloudsdkecs` client, AK/SK-signed: ShowServer and
    ListServersDetails deserialise into the SDK's own models."""
    from huaweicloudsdkecs.v2 import EcsClient, ListServersDetailsRequest, ShowServerRequest

    image = next(iter(demo.compute.images()))
    server = demo.compute.create_server(name="hw-sdk", flavor_id="s3.small.1", image_id=image.id, networks="auto")
    demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)
    endpoint = demo.session.get_endpoint(service_type="compute", interface="public")
    base = f"{urlparse(endpoint).scheme}://{urlparse(endpoint).netloc}"
    credentials = BasicCredentials(ec2_credential["access"], ec2_credential["secret"], demo.current_project_id)
    client = EcsClient.new_builder().with_credentials(credentials).with_endpoints([base]).build()

    shown = client.show_server(ShowServerRequest(server_id=server.id)).server
    assert shown.name == "hw-sdk" and shown.status == "ACTIVE"
    assert shown.flavor.vcpus == "1" and shown.flavor.id == "s3.small.1"
    assert any(a.os_ext_ip_sport_id for nics in shown.addresses.values() for a in nics)

    listed = client.list_servers_details(ListServersDetailsRequest(name="hw-sdk", limit=10))
    assert listed.count >= 1 and server.id in [s.id for s in listed.servers]

    # A batch stop through the SDK, followed to its end with ShowJob.
    from huaweicloudsdkecs.v2 import (
        BatchStopServersOption, BatchStopServersRequest, BatchStopServersRequestBody, ServerId, ShowJobRequest,
    )

    option = BatchStopServersOption(servers=[ServerId(id=server.id)], type="HARD")
    job_id = client.batch_stop_servers(BatchStopServersRequest(body=BatchStopServersRequestBody(os_stop=option))).job_id
    for _ in range(300):
        job = client.show_job(ShowJobRequest(job_id=job_id))
        if job.status in ("SUCCESS", "FAIL"):
            break
        time.sleep(0.1)
    assert job.status == "SUCCESS", job
    assert job.entities.sub_jobs_total == 1 and job.entities.sub_jobs[0].entities.server_id == server.id
    demo.compute.wait_for_server(server, status="SHUTOFF", wait=60, interval=0.2)
    demo.compute.delete_server(server)


def test_huawei_ecs_sdk_create_to_delete(demo, ec2_credential):
    """The whole ECS-native path through the real SDK over AK/SK: CreateServers
    (v1.1) → ShowJob until its sub-jobs end → ShowServer → batch stop and
    start → 2D tags → DeleteServers."""
    from huaweicloudsdkecs.v2 import (
        BatchAddServerTag, BatchCreateServerTagsRequest, BatchCreateServerTagsRequestBody, BatchStartServersOption,
        BatchStartServersRequest, BatchStartServersRequestBody, BatchStopServersOption, BatchStopServersRequest,
        BatchStopServersRequestBody, CreateServersRequest, CreateServersRequestBody, DeleteServersRequest,
        DeleteServersRequestBody, EcsClient, PrePaidServer, PrePaidServerNic, PrePaidServerRootVolume,
        PrePaidServerTag, ServerId, ShowJobRequest, ShowServerRequest, ShowServerTagsRequest,
    )
    from huaweicloudsdkvpc.v2 import ListSubnetsRequest, VpcClient

    endpoint = urlparse(demo.session.get_endpoint(service_type="compute", interface="public"))
    credentials = BasicCredentials(ec2_credential["access"], ec2_credential["secret"], demo.current_project_id)
    client = EcsClient.new_builder().with_credentials(credentials).with_endpoints(
        [f"{endpoint.scheme}://{endpoint.netloc}"]).build()

    def finished(job_id):
        for _ in range(600):
            job = client.show_job(ShowJobRequest(job_id=job_id))
            if job.status in ("SUCCESS", "FAIL"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish")

    network = next(n for n in demo.network.networks() if not n.is_router_external)
    subnet = next(iter(demo.network.subnets(network_id=network.id)))
    image = next(iter(demo.compute.images()))
    server = PrePaidServer(
        image_ref=image.id, flavor_ref="s3.small.1", name="sdk-ecs", vpcid=network.id,
        nics=[PrePaidServerNic(subnet_id=subnet.id)], root_volume=PrePaidServerRootVolume(volumetype="SSD"),
        count=2, server_tags=[PrePaidServerTag(key="env", value="ci")],
    )
    created = client.create_servers(CreateServersRequest(body=CreateServersRequestBody(server=server)))
    assert len(created.server_ids) == 2
    job = finished(created.job_id)
    assert job.status == "SUCCESS", job
    assert job.job_type == "createServer" and job.entities.sub_jobs_total == 2
    assert {s.job_type for s in job.entities.sub_jobs} == {"createSingleServer"}

    shown = [client.show_server(ShowServerRequest(server_id=i)).server for i in created.server_ids]
    assert sorted(s.name for s in shown) == ["sdk-ecs-0001", "sdk-ecs-0002"]
    vpcs = VpcClient.new_builder().with_credentials(credentials).with_endpoints(
        [f"{endpoint.scheme}://{endpoint.netloc}"]).build()
    vpc_id = next(s.vpc_id for s in vpcs.list_subnets(ListSubnetsRequest()).subnets if s.id == network.id)
    assert all(s.status == "ACTIVE" and s.metadata["vpc_id"] == vpc_id for s in shown)

    ids = [ServerId(id=i) for i in created.server_ids]
    stop = BatchStopServersRequestBody(os_stop=BatchStopServersOption(servers=ids, type="SOFT"))
    assert finished(client.batch_stop_servers(BatchStopServersRequest(body=stop)).job_id).status == "SUCCESS"
    assert client.show_server(ShowServerRequest(server_id=created.server_ids[0])).server.status == "SHUTOFF"
    start = BatchStartServersRequestBody(os_start=BatchStartServersOption(servers=ids))
    assert finished(client.batch_start_servers(BatchStartServersRequest(body=start)).job_id).status == "SUCCESS"

    first = created.server_ids[0]
    tags = BatchCreateServerTagsRequestBody(action="create", tags=[BatchAddServerTag(key="team", value="infra")])
    client.batch_create_server_tags(BatchCreateServerTagsRequest(server_id=first, body=tags))
    shown_tags = client.show_server_tags(ShowServerTagsRequest(server_id=first)).tags
    assert sorted((t.key, t.value) for t in shown_tags) == [("env", "ci"), ("team", "infra")]

    delete = DeleteServersRequestBody(servers=ids, delete_volume=True, delete_publicip=True)
    assert finished(client.delete_servers(DeleteServersRequest(body=delete)).job_id).status == "SUCCESS"
    assert all(demo.compute.find_server(i) is None for i in created.server_ids)
