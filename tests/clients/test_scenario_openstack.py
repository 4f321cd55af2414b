"""Issue 18's scenarios: a whole project's life through the OpenStack CLI and
through openstacksdk, at their default (negotiated) microversions, with only
`ecsd serve` running.

network + subnet + router + external network; security group + rules;
keypair; image upload; a server with all of them; volume create + attach +
detach (Cinder v3); floating IP create + add + remove; shelve/unshelve,
rescue/unrescue, backup, soft delete + restore; delete everything; nothing
left.

Each test starts its own ecsd (ECSD_RECLAIM_INSTANCE_INTERVAL set: Nova's
`reclaim_instance_interval`, so a delete is a soft delete that `restore`
undoes) over a fresh database, so "nothing left" means exactly that. They
are marked `scenario18`; to run them alone:

    scripts/client-tests.sh -m scenario18
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import openstack
import openstack.exceptions
import pytest

pytestmark = pytest.mark.scenario18

RECLAIM_SECONDS = 3600
WAIT = 120


# --- a dedicated ecsd ----------------------------------------------------------------


def _ecsd_binary():
    if os.environ.get("ECSD_BIN"):
        return os.environ["ECSD_BIN"]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    return os.path.join(target, "debug", "ecsd")


@pytest.fixture
def ecsd():
    """Starts `ecsd serve` on a free port with a reclaim interval; yields
    the path of a clouds.yaml naming `s18-admin` and `s18-demo`."""
    work = tempfile.mkdtemp(prefix="ecsd-s18-")
    banner_path = os.path.join(work, "banner")
    log_path = os.path.join(work, "ecsd.log")
    env = dict(os.environ, ECSD_RECLAIM_INSTANCE_INTERVAL=str(RECLAIM_SECONDS))
    with open(banner_path, "w") as banner, open(log_path, "w") as log:
        proc = subprocess.Popen(
            [_ecsd_binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data"),
             "--vnc-proxy-listen", "off"],
            stdout=banner, stderr=log, env=env)
    endpoint = None
    for _ in range(300):
        text = open(banner_path).read()
        m = re.search(r"^ecsd is serving on (\S+)", text, re.M)
        if m and "then:" in text:
            endpoint = m.group(1)
            break
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if endpoint is None:
        proc.kill()
        raise AssertionError("ecsd did not start:\n" + open(banner_path).read() + open(log_path).read())
    clouds = os.path.join(work, "clouds.yaml")
    with open(clouds, "w") as f:
        f.write(f"""clouds:
  s18-admin:
    auth: {{auth_url: "{endpoint}/identity/v3", username: admin, password: admin, project_name: admin,
           user_domain_name: Default, project_domain_name: Default}}
    region_name: RegionOne
    identity_api_version: 3
  s18-demo:
    auth: {{auth_url: "{endpoint}/identity/v3", username: demo, password: demo, project_name: demo,
           user_domain_name: Default, project_domain_name: Default}}
    region_name: RegionOne
    identity_api_version: 3
""")
    try:
        yield {"clouds": clouds, "endpoint": endpoint, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def _connect(ecsd, user):
    # Not through the clouds.yaml: OS_CLIENT_CONFIG_FILE (the suite's) wins over any other file.
    return openstack.connection.Connection(
        auth={"auth_url": f"{ecsd['endpoint']}/identity/v3", "username": user, "password": user,
              "project_name": user, "user_domain_name": "Default", "project_domain_name": "Default"},
        region_name="RegionOne", identity_api_version="3")


@pytest.fixture
def s18_admin(ecsd):
    return _connect(ecsd, "admin")


@pytest.fixture
def s18_demo(ecsd):
    return _connect(ecsd, "demo")


@pytest.fixture
def os_cli(ecsd):
    """`openstack --os-cloud s18-demo ARGS -f json`, parsed."""

    def run(*args, cloud="s18-demo", parse=True, check=True):
        cmd = ["openstack", "--os-cloud", cloud, *args]
        if parse:
            cmd += ["-f", "json"]
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=ecsd["clouds"])
        for k in [k for k in env if k.startswith("OS_") and k != "OS_CLIENT_CONFIG_FILE"]:
            del env[k]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
        if not parse:
            return proc
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    return run


def _until(what, probe, wait=WAIT):
    deadline = time.monotonic() + wait
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _settled(conn, server_id, status):
    """The server, once it shows `status` with no task under way."""
    def probe():
        server = conn.compute.get_server(server_id)
        return server if server.status == status and not server.task_state else None
    return _until(f"{status} with no task", probe)


def _field(d, *names):
    """A field of CLI output, by any of the names the CLI versions use."""
    for n in names:
        if n in d:
            return d[n]
    raise KeyError(f"none of {names} in {sorted(d)}")


# --- the CLI scenario ---------------------------------------------------------------


def test_cli_scenario(os_cli, tmp_path):
    u = uuid.uuid4().hex[:6]
    admin = lambda *a, **k: os_cli(*a, cloud="s18-admin", **k)  # noqa: E731

    def server_status(name):
        return os_cli("server", "show", name)["status"]

    def wait_server(name, *statuses):
        return _until(f"{name} in {statuses}", lambda: server_status(name) in statuses and server_status(name))

    def wait_volume(name, status):
        return _until(f"volume {name} {status}", lambda: os_cli("volume", "show", name)["status"] == status)

    def wait_image(name):
        return _until(f"image {name} active", lambda: os_cli("image", "show", name)["status"] == "active")

    # What the fresh ecsd has before: the seeded networks, image and groups.
    networks_before = {n["Name"] for n in admin("network", "list")}
    images_before = {i["Name"] for i in os_cli("image", "list")}
    ports_before = {p["ID"] for p in admin("port", "list")}

    # External network (admin's), the project's network, subnet and router.
    ext = admin("network", "create", "--external", "--share", f"ext-{u}")
    assert ext["router:external"] in (True, "External")
    admin("subnet", "create", "--network", f"ext-{u}", "--subnet-range", "203.0.113.0/24", "--no-dhcp",
          f"ext-sub-{u}")
    net = os_cli("network", "create", f"net-{u}")
    sub = os_cli("subnet", "create", "--network", f"net-{u}", "--subnet-range", "10.18.0.0/24", f"sub-{u}")
    assert sub["cidr"] == "10.18.0.0/24"
    os_cli("router", "create", f"r-{u}")
    os_cli("router", "set", "--external-gateway", f"ext-{u}", f"r-{u}", parse=False)
    os_cli("router", "add", "subnet", f"r-{u}", f"sub-{u}", parse=False)
    router = os_cli("router", "show", f"r-{u}")
    assert router["external_gateway_info"]["network_id"] == ext["id"]

    # Security group and rules.
    sg = os_cli("security", "group", "create", f"sg-{u}")
    os_cli("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
           "--remote-ip", "0.0.0.0/0", f"sg-{u}")
    os_cli("security", "group", "rule", "create", "--protocol", "icmp", f"sg-{u}")
    rules = os_cli("security", "group", "rule", "list", f"sg-{u}")
    assert {r["IP Protocol"] for r in rules} >= {"tcp", "icmp"}
    bad = os_cli("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "70000", f"sg-{u}",
                 check=False, parse=False)
    assert bad.returncode != 0

    # Key pair.
    kp = os_cli("keypair", "create", "--private-key", str(tmp_path / "k.pem"), f"kp-{u}")
    assert kp["name"] == f"kp-{u}"

    # Image upload.
    data = tmp_path / "disk.img"
    data.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    img = os_cli("image", "create", "--file", str(data), "--disk-format", "raw", "--container-format", "bare",
                 f"img-{u}")
    wait_image(f"img-{u}")
    shown = os_cli("image", "show", f"img-{u}")
    assert shown["size"] == 3 * 1024 * 1024 + 17
    assert shown["checksum"]
    saved = tmp_path / "saved.img"
    os_cli("image", "save", "--file", str(saved), f"img-{u}", parse=False)
    assert saved.read_bytes() == data.read_bytes()

    # A server with all of them.
    os_cli("server", "create", "--flavor", "m1.tiny", "--image", f"img-{u}", "--network", f"net-{u}",
           "--security-group", f"sg-{u}", "--key-name", f"kp-{u}", "--wait", f"srv-{u}", parse=False)
    server = os_cli("server", "show", f"srv-{u}")
    assert server["status"] == "ACTIVE"
    assert server["key_name"] == f"kp-{u}"
    assert f"net-{u}" in json.dumps(server["addresses"])
    assert f"sg-{u}" in json.dumps(server["security_groups"])
    assert server["image"] and img["id"] in json.dumps(server["image"])

    # Volume create, attach, detach (Cinder v3).
    os_cli("volume", "create", "--size", "1", f"vol-{u}")
    wait_volume(f"vol-{u}", "available")
    os_cli("server", "add", "volume", f"srv-{u}", f"vol-{u}", parse=False)
    wait_volume(f"vol-{u}", "in-use")
    vol = os_cli("volume", "show", f"vol-{u}")
    assert server["id"] in json.dumps(vol["attachments"])
    os_cli("server", "remove", "volume", f"srv-{u}", f"vol-{u}", parse=False)
    wait_volume(f"vol-{u}", "available")

    # Floating IP create, add, remove.
    fip = os_cli("floating", "ip", "create", f"ext-{u}")
    address = fip["floating_ip_address"]
    assert address.startswith("203.0.113.")
    os_cli("server", "add", "floating", "ip", f"srv-{u}", address, parse=False)
    _until("the floating IP on the server", lambda: address in json.dumps(os_cli("server", "show", f"srv-{u}")["addresses"]))
    assert os_cli("floating", "ip", "show", address)["port_id"]
    os_cli("server", "remove", "floating", "ip", f"srv-{u}", address, parse=False)
    _until("the floating IP released from the port", lambda: not os_cli("floating", "ip", "show", address)["port_id"])

    # Shelve / unshelve.
    os_cli("server", "shelve", f"srv-{u}", parse=False)
    wait_server(f"srv-{u}", "SHELVED_OFFLOADED", "SHELVED")
    os_cli("server", "unshelve", f"srv-{u}", parse=False)
    wait_server(f"srv-{u}", "ACTIVE")

    # Rescue / unrescue.
    os_cli("server", "rescue", f"srv-{u}", parse=False)
    wait_server(f"srv-{u}", "RESCUE")
    os_cli("server", "unrescue", f"srv-{u}", parse=False)
    wait_server(f"srv-{u}", "ACTIVE")

    # Backup (an image of the server, rotated).
    os_cli("server", "backup", "create", "--name", f"bk-{u}", "--type", "daily", "--rotate", "1", f"srv-{u}")
    _until("the backup image", lambda: any(i["Name"] == f"bk-{u}" and i["Status"] == "active"
                                            for i in os_cli("image", "list")))
    wait_server(f"srv-{u}", "ACTIVE")

    # Soft delete and restore.
    os_cli("server", "delete", f"srv-{u}", parse=False)
    wait_server(f"srv-{u}", "SOFT_DELETED")
    os_cli("server", "restore", f"srv-{u}", parse=False)
    wait_server(f"srv-{u}", "ACTIVE")

    # Delete everything.
    os_cli("server", "delete", "--force", "--wait", f"srv-{u}", parse=False)
    os_cli("floating", "ip", "delete", address, parse=False)
    os_cli("volume", "delete", f"vol-{u}", parse=False)
    _until("the volume gone", lambda: not any(v["Name"] == f"vol-{u}" for v in os_cli("volume", "list")))
    for backup in [i for i in os_cli("image", "list") if i["Name"] == f"bk-{u}"]:
        os_cli("image", "delete", backup["ID"], parse=False)
    os_cli("image", "delete", f"img-{u}", parse=False)
    os_cli("keypair", "delete", f"kp-{u}", parse=False)
    os_cli("router", "remove", "subnet", f"r-{u}", f"sub-{u}", parse=False)
    os_cli("router", "unset", "--external-gateway", f"r-{u}", parse=False)
    os_cli("router", "delete", f"r-{u}", parse=False)
    os_cli("security", "group", "delete", f"sg-{u}", parse=False)
    os_cli("subnet", "delete", f"sub-{u}", parse=False)
    os_cli("network", "delete", f"net-{u}", parse=False)
    admin("subnet", "delete", f"ext-sub-{u}", parse=False)
    admin("network", "delete", f"ext-{u}", parse=False)

    # Nothing left.
    assert os_cli("server", "list") == []
    assert admin("server", "list", "--all-projects") == []
    assert os_cli("volume", "list") == []
    assert os_cli("floating", "ip", "list") == []
    assert os_cli("router", "list") == []
    assert os_cli("keypair", "list") == []
    assert {i["Name"] for i in os_cli("image", "list")} == images_before
    assert {n["Name"] for n in admin("network", "list")} == networks_before
    assert {s["Name"] for s in os_cli("security", "group", "list")} <= {"default"}
    assert {p["ID"] for p in admin("port", "list")} == ports_before


# --- the openstacksdk scenario --------------------------------------------------------


def test_openstacksdk_scenario(s18_admin, s18_demo, tmp_path):
    u = uuid.uuid4().hex[:6]
    conn = s18_demo
    networks_before = {n.name for n in s18_admin.network.networks()}
    images_before = {i.name for i in conn.image.images()}
    ports_before = {p.id for p in s18_admin.network.ports()}

    # External network (admin's), network, subnet, router.
    ext = s18_admin.network.create_network(name=f"ext-{u}", is_router_external=True, is_shared=True)
    ext_sub = s18_admin.network.create_subnet(network_id=ext.id, ip_version=4, cidr="198.51.100.0/24",
                                              is_dhcp_enabled=False, name=f"ext-sub-{u}")
    assert ext_sub.is_dhcp_enabled is False
    net = conn.network.create_network(name=f"net-{u}")
    sub = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.19.0.0/24", name=f"sub-{u}")
    router = conn.network.create_router(name=f"r-{u}", external_gateway_info={"network_id": ext.id})
    conn.network.add_interface_to_router(router, subnet_id=sub.id)
    router = conn.network.get_router(router.id)
    assert router.external_gateway_info["network_id"] == ext.id

    # Security group and rules (Neutron's validation).
    sg = conn.network.create_security_group(name=f"sg-{u}", description="scenario")
    conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress", ethertype="IPv4",
                                            protocol="tcp", port_range_min=22, port_range_max=22,
                                            remote_ip_prefix="0.0.0.0/0")
    conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress", ethertype="IPv4",
                                            protocol="icmp")
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress", ethertype="IPv4",
                                                protocol="tcp", port_range_min=30, port_range_max=20)
    protocols = {r.protocol for r in conn.network.security_group_rules(security_group_id=sg.id)}
    assert {"tcp", "icmp"} <= protocols

    # Key pair.
    kp = conn.compute.create_keypair(name=f"kp-{u}")
    assert kp.private_key

    # Image upload through Glance v2.
    data = tmp_path / "disk.img"
    data.write_bytes(os.urandom(2 * 1024 * 1024 + 5))
    image = conn.image.create_image(name=f"img-{u}", filename=str(data), disk_format="raw",
                                    container_format="bare", wait=True)
    image = conn.image.get_image(image.id)
    assert image.status == "active"
    assert image.size == 2 * 1024 * 1024 + 5
    assert image.hash_algo and image.hash_value
    downloaded = conn.image.download_image(image)
    assert bytes(downloaded.content if hasattr(downloaded, "content") else downloaded) == data.read_bytes()

    # A server with all of them.
    server = conn.compute.create_server(name=f"srv-{u}", flavor_id=conn.compute.find_flavor("m1.tiny").id,
                                        image_id=image.id, networks=[{"uuid": net.id}],
                                        security_groups=[{"name": sg.name}], key_name=kp.name)
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=WAIT, interval=0.3)
    assert server.key_name == kp.name
    assert sg.name in {g["name"] for g in server.security_groups}

    # Volume create, attach, detach through Cinder v3.
    vol = conn.block_storage.create_volume(size=1, name=f"vol-{u}")
    vol = conn.block_storage.wait_for_status(vol, status="available", wait=WAIT, interval=0.3)
    conn.compute.create_volume_attachment(server, volume_id=vol.id)
    vol = conn.block_storage.wait_for_status(vol, status="in-use", wait=WAIT, interval=0.3)
    assert vol.attachments[0]["server_id"] == server.id
    conn.compute.delete_volume_attachment(server, vol.id)
    vol = conn.block_storage.wait_for_status(vol, status="available", wait=WAIT, interval=0.3)

    # Floating IP create, associate, disassociate.
    port = next(iter(conn.network.ports(device_id=server.id)))
    fip = conn.network.create_ip(floating_network_id=ext.id)
    assert fip.floating_ip_address.startswith("198.51.100.")
    fip = conn.network.update_ip(fip, port_id=port.id)
    assert fip.port_id == port.id and fip.fixed_ip_address
    fip = conn.network.update_ip(fip, port_id=None)
    assert not fip.port_id

    # Shelve / unshelve, rescue / unrescue, backup.
    # (A fresh read each time: the SDK's wait_for_server returns at once when
    # the object it is given already shows the status.)
    conn.compute.shelve_server(server)
    _until("shelved", lambda: conn.compute.get_server(server.id).status in ("SHELVED_OFFLOADED", "SHELVED"))
    conn.compute.unshelve_server(server)
    server = _settled(conn, server.id, "ACTIVE")
    conn.compute.rescue_server(server)
    _settled(conn, server.id, "RESCUE")
    conn.compute.unrescue_server(server)
    server = _settled(conn, server.id, "ACTIVE")
    conn.compute.backup_server(server, f"bk-{u}", "weekly", 1)
    backup = _until("the backup image", lambda: next(
        (i for i in conn.image.images(name=f"bk-{u}") if i.status == "active"), None))
    server = _settled(conn, server.id, "ACTIVE")

    # Soft delete and restore.
    conn.compute.delete_server(server)
    _until("soft-deleted", lambda: conn.compute.get_server(server.id).status == "SOFT_DELETED")
    conn.compute.restore_server(server)
    server = _settled(conn, server.id, "ACTIVE")

    # Delete everything.
    conn.compute.delete_server(server, force=True)
    conn.compute.wait_for_delete(server, wait=WAIT, interval=0.3)
    conn.network.delete_ip(fip)
    conn.block_storage.delete_volume(vol)
    conn.block_storage.wait_for_delete(vol, wait=WAIT, interval=0.3)
    conn.image.delete_image(backup)
    conn.image.delete_image(image)
    conn.compute.delete_keypair(kp)
    conn.network.remove_interface_from_router(router, subnet_id=sub.id)
    conn.network.update_router(router, external_gateway_info={})
    conn.network.delete_router(router)
    conn.network.delete_security_group(sg)
    conn.network.delete_subnet(sub)
    conn.network.delete_network(net)
    s18_admin.network.delete_subnet(ext_sub)
    s18_admin.network.delete_network(ext)

    # Nothing left.
    assert list(conn.compute.servers()) == []
    assert list(conn.block_storage.volumes()) == []
    assert list(conn.network.ips()) == []
    assert list(conn.network.routers()) == []
    assert list(conn.compute.keypairs()) == []
    assert {i.name for i in conn.image.images()} == images_before
    assert {n.name for n in s18_admin.network.networks()} == networks_before
    assert {p.id for p in s18_admin.network.ports()} == ports_before
    assert {g.name for g in conn.network.security_groups()} <= {"default"}
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.image.get_image(image.id)
