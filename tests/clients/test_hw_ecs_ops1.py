"""Issue 19 through the Huawei Cloud SDK: the EcsClient operations of the
recycle bin, launch templates, scheduled events, metadata and serial
console options, the remote console, passwords, redeploy, crash dump, the
auto-terminate time and the billing mode change, each called as a user
calls it, its response model's fields checked."""

import datetime
import uuid

import pytest
from conftest import hw_wait_job
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkecs.v2 import (
    AcceptScheduledEventRequest,
    BatchResetServersPasswordRequest,
    BatchResetServersPasswordRequestBody,
    ChangeServerChargeModePrepaidOption,
    ChangeServerChargeModeRequest,
    ChangeServerChargeModeRequestBody,
    CreateLaunchTemplateRequest,
    CreateLaunchTemplateRequestBody,
    DeleteLaunchTemplatesRequest,
    DeleteRecycleBinServerRequest,
    DeleteServerPasswordRequest,
    DeleteServersRequest,
    DeleteServersRequestBody,
    EcsClient,
    ExecuteServerDumpRequest,
    ExecuteServerRedeployRequest,
    GetServerRemoteConsoleOption,
    LaunchTemplateOption,
    ListLaunchTemplateVersionsRequest,
    ListRecycleBinServersRequest,
    ListScheduledEventsRequest,
    ListTemplatesRequest,
    ResetServerPasswordOption,
    ResetServerPasswordRequest,
    ResetServerPasswordRequestBody,
    RevertRecycleBinServerRequest,
    ScheduledEventAcceptBody,
    ScheduledEventUpdateBody,
    ServerId,
    ShowMetadataOptionsRequest,
    ShowRecycleBinRequest,
    ShowResetPasswordFlagRequest,
    ShowSerialConsoleActionsRequest,
    ShowServerPasswordRequest,
    ShowServerRemoteConsoleRequest,
    ShowServerRemoteConsoleRequestBody,
    ShowServerRequest,
    TemplateData,
    UpdateMetadataOptionsRequest,
    UpdateRecycleBinOption,
    UpdateRecycleBinPolicyOption,
    UpdateRecycleBinPolicyReq,
    UpdateRecycleBinPolicyRequest,
    UpdateRecycleBinReq,
    UpdateRecycleBinRequest,
    UpdateScheduledEventRequest,
    UpdateSerialConsoleOptionsOption,
    UpdateSerialConsoleOptionsRequest,
    UpdateSerialConsoleOptionsRequestBody,
    UpdateServerAutoTerminateTimeRequest,
    UpdateServerAutoTerminateTimeRequestBody,
    UpdateServerMetadataOptionsRequestBody,
)


def boot(demo, name):
    image = next(iter(demo.compute.images()))
    server = demo.compute.create_server(name=name, flavor_id="m1.tiny", image_id=image.id, networks="auto")
    return demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2).id


@pytest.fixture()
def ecs(hw):
    return hw(EcsClient)


@pytest.fixture()
def server(demo):
    sid = boot(demo, f"hw-ops1-{uuid.uuid4().hex[:6]}")
    yield sid
    try:
        demo.compute.delete_server(sid, force=True)
    except Exception:
        pass


def refused(call, status, code):
    with pytest.raises(ClientRequestException) as e:
        call()
    assert e.value.status_code == status, e.value
    assert e.value.error_code == code, e.value


def test_recycle_bin(ecs, demo):
    bin_ = ecs.show_recycle_bin(ShowRecycleBinRequest())
    assert bin_.project_id == demo.current_project_id
    assert bin_.switch in ("on", "off")
    assert bin_.policy.retention_hour >= 1 and bin_.policy.recycle_threshold_day >= 0

    policy = UpdateRecycleBinPolicyOption(retention_hour=2, recycle_threshold_day=0)
    ecs.update_recycle_bin_policy(UpdateRecycleBinPolicyRequest(body=UpdateRecycleBinPolicyReq(policy=policy)))
    on = UpdateRecycleBinReq(recycle_bin=UpdateRecycleBinOption(switch="on"))
    ecs.update_recycle_bin(UpdateRecycleBinRequest(body=on))
    try:
        shown = ecs.show_recycle_bin(ShowRecycleBinRequest())
        assert (shown.switch, shown.policy.retention_hour, shown.policy.recycle_threshold_day) == ("on", 2, 0)

        sid = boot(demo, f"hw-bin-{uuid.uuid4().hex[:6]}")
        body = DeleteServersRequestBody(servers=[ServerId(id=sid)])
        job = ecs.delete_servers(DeleteServersRequest(body=body)).job_id
        assert hw_wait_job(ecs, job).status == "SUCCESS"
        listed = ecs.list_recycle_bin_servers(ListRecycleBinServersRequest()).servers
        kept = [s for s in listed if s.id == sid]
        assert kept and kept[0].status == "SOFT_DELETED" and kept[0].flavor.id and kept[0].name.startswith("hw-bin-")

        job = ecs.revert_recycle_bin_server(RevertRecycleBinServerRequest(server_id=sid)).job_id
        assert hw_wait_job(ecs, job).status == "SUCCESS"
        demo.compute.wait_for_server(demo.compute.get_server(sid), status="ACTIVE", wait=60, interval=0.2)
        assert sid not in [s.id for s in ecs.list_recycle_bin_servers(ListRecycleBinServersRequest()).servers]

        job = ecs.delete_servers(DeleteServersRequest(body=body)).job_id
        assert hw_wait_job(ecs, job).status == "SUCCESS"
        job = ecs.delete_recycle_bin_server(DeleteRecycleBinServerRequest(server_id=sid)).job_id
        assert hw_wait_job(ecs, job).status == "SUCCESS"
        refused(lambda: ecs.show_server(ShowServerRequest(server_id=sid)), 404, "Ecs.0114")
        refused(lambda: ecs.revert_recycle_bin_server(RevertRecycleBinServerRequest(server_id=sid)), 404, "Ecs.0114")
    finally:
        off = UpdateRecycleBinReq(recycle_bin=UpdateRecycleBinOption(switch="off"))
        ecs.update_recycle_bin(UpdateRecycleBinRequest(body=off))
    assert ecs.show_recycle_bin(ShowRecycleBinRequest()).switch == "off"


def test_launch_templates(ecs):
    name = f"lt-{uuid.uuid4().hex[:6]}"
    data = TemplateData(flavor_id="m1.tiny", name="web", description="a web server", metadata={"k": "v"})
    option = LaunchTemplateOption(name=name, description="d", version_description="first", template_data=data)
    created = ecs.create_launch_template(CreateLaunchTemplateRequest(body=CreateLaunchTemplateRequestBody(launch_template=option)))
    tid = created.launch_template_id
    assert tid

    listed = ecs.list_templates(ListTemplatesRequest(name=[name])).launch_templates
    assert [t.id for t in listed] == [tid]
    t = listed[0]
    assert (t.name, t.description, t.default_version, t.latest_version) == (name, "d", 1, 1)
    assert t.created_at and t.updated_at

    versions = ecs.list_launch_template_versions(ListLaunchTemplateVersionsRequest(launch_template_id=tid))
    v = versions.launch_template_versions[0]
    assert (v.launch_template_id, v.version_number, v.version_description) == (tid, 1, "first")
    assert v.version_id and v.created_at
    assert v.template_data.flavor_id == "m1.tiny" and v.template_data.metadata == {"k": "v"}

    ecs.delete_launch_templates(DeleteLaunchTemplatesRequest(launch_template_id=tid))
    assert ecs.list_templates(ListTemplatesRequest(name=[name])).launch_templates == []
    refused(lambda: ecs.delete_launch_templates(DeleteLaunchTemplatesRequest(launch_template_id=tid)), 404, "Ecs.0005")


def test_scheduled_events(ecs):
    events = ecs.list_scheduled_events(ListScheduledEventsRequest(limit=10))
    assert events.events == []
    eid = str(uuid.uuid4())
    body = ScheduledEventUpdateBody(not_before="2030-07-09T10:40:00Z")
    refused(lambda: ecs.update_scheduled_event(UpdateScheduledEventRequest(id=eid, body=body)), 404, "Ecs.0005")
    accept = ScheduledEventAcceptBody(not_before="2030-07-09T10:40:00Z")
    refused(lambda: ecs.accept_scheduled_event(AcceptScheduledEventRequest(id=eid, body=accept)), 404, "Ecs.0005")


def test_metadata_and_serial_console_options(ecs, server):
    shown = ecs.show_metadata_options(ShowMetadataOptionsRequest(server_id=server))
    assert (shown.http_endpoint, shown.http_tokens) == ("enabled", "optional")
    body = UpdateServerMetadataOptionsRequestBody(http_tokens="required")
    ecs.update_metadata_options(UpdateMetadataOptionsRequest(server_id=server, body=body))
    shown = ecs.show_metadata_options(ShowMetadataOptionsRequest(server_id=server))
    assert (shown.http_endpoint, shown.http_tokens) == ("enabled", "required")

    show_serial = lambda: ecs.show_serial_console_actions(ShowSerialConsoleActionsRequest(server_id=server))  # noqa: E731
    refused(show_serial, 400, "Ecs.0005")
    options = UpdateSerialConsoleOptionsRequestBody(serial_console_options=UpdateSerialConsoleOptionsOption(enabled=True))
    ecs.update_serial_console_options(UpdateSerialConsoleOptionsRequest(server_id=server, body=options))
    assert "token" in show_serial().serial_console.url


def test_remote_console(ecs, server):
    option = GetServerRemoteConsoleOption(protocol="vnc", type="novnc")
    body = ShowServerRemoteConsoleRequestBody(remote_console=option)
    console = ecs.show_server_remote_console(ShowServerRemoteConsoleRequest(server_id=server, body=body)).remote_console
    assert (console.protocol, console.type) == ("vnc", "novnc")
    assert console.url.startswith("http") and "token" in console.url


def test_passwords(ecs, server):
    assert ecs.show_reset_password_flag(ShowResetPasswordFlagRequest(server_id=server)).resetpwd_flag == "True"
    option = ResetServerPasswordOption(new_password="N3w-Passw0rd", is_check_password=True)
    ecs.reset_server_password(
        ResetServerPasswordRequest(server_id=server, body=ResetServerPasswordRequestBody(reset_password=option))
    )
    weak = ResetServerPasswordRequestBody(reset_password=ResetServerPasswordOption(new_password="weak"))
    refused(lambda: ecs.reset_server_password(ResetServerPasswordRequest(server_id=server, body=weak)), 400, "Ecs.0011")

    batch = BatchResetServersPasswordRequestBody(new_password="An0ther-Passw0rd", servers=[ServerId(id=server)])
    done = ecs.batch_reset_servers_password(BatchResetServersPasswordRequest(body=batch)).response
    assert [s.id for s in done] == [server]

    assert ecs.show_server_password(ShowServerPasswordRequest(server_id=server)).password is not None
    ecs.delete_server_password(DeleteServerPasswordRequest(server_id=server))
    assert ecs.show_server_password(ShowServerPasswordRequest(server_id=server)).password == ""


def test_dump_redeploy_auto_terminate_and_charge_mode(ecs, server):
    ecs.execute_server_dump(ExecuteServerDumpRequest(server_id=server))

    at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:00Z")
    body = UpdateServerAutoTerminateTimeRequestBody(auto_terminate_time=at)
    ecs.update_server_auto_terminate_time(UpdateServerAutoTerminateTimeRequest(server_id=server, body=body))
    assert ecs.show_server(ShowServerRequest(server_id=server)).server.auto_terminate_time == at
    past = UpdateServerAutoTerminateTimeRequestBody(auto_terminate_time="2020-01-01T00:00:00Z")
    refused(
        lambda: ecs.update_server_auto_terminate_time(UpdateServerAutoTerminateTimeRequest(server_id=server, body=past)),
        400,
        "Ecs.0005",
    )

    prepaid = ChangeServerChargeModePrepaidOption(period_type="month", period_num="1", auto_pay=True)
    charge = ChangeServerChargeModeRequestBody(server_ids=[server], charge_mode="prePaid", prepaid_options=prepaid)
    refused(lambda: ecs.change_server_charge_mode(ChangeServerChargeModeRequest(body=charge)), 403, "Ecs.0069")

    job = ecs.execute_server_redeploy(ExecuteServerRedeployRequest(server_id=server)).job_id
    assert hw_wait_job(ecs, job).status in ("SUCCESS", "FAIL")
