"""Issue 2 through unmodified clients: auth, flavors, extra specs, key pairs."""

import base64
import hashlib
import uuid

import openstack.exceptions
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def fresh_public_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def md5_fingerprint(public_key):
    blob = base64.b64decode(public_key.split()[1])
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def test_token_scope_and_catalog(demo):
    assert demo.current_project_id
    assert demo.compute.get_endpoint().rstrip("/").endswith("/v2.1")
    version = demo.compute.get("/").json()["version"]
    assert version["min_version"] == "2.1"
    assert tuple(map(int, version["version"].split("."))) >= (2, 90)


def test_flavors_listed_shown_with_extra_specs(demo):
    flavors = {f.id: f for f in demo.compute.flavors()}
    assert {"s3.small.1", "s3.medium.2", "c1.large", "m1.tiny"} <= set(flavors)
    small = demo.compute.get_flavor("s3.small.1")
    assert small.vcpus == 1 and small.ram == 1024
    specs = demo.compute.fetch_flavor_extra_specs(small).extra_specs
    assert specs, "seeded flavors carry os_extra_specs"
    # Filters reach the server: nothing seeded has a terabyte of RAM.
    assert list(demo.compute.flavors(min_ram=1024 * 1024)) == []


def test_flavor_paging_follows_links(demo):
    everything = [f.id for f in demo.compute.flavors()]
    paged = [f.id for f in demo.compute.flavors(limit=2, paginated=True)]
    assert paged == everything and len(everything) > 2


def test_admin_manages_flavors_member_cannot(admin, demo):
    name = f"t-{uuid.uuid4().hex[:8]}"
    flavor = admin.compute.create_flavor(name=name, ram=512, vcpus=1, disk=1, id=name)
    try:
        admin.compute.create_flavor_extra_specs(flavor, {"hw:cpu_policy": "shared"})
        assert admin.compute.get_flavor_extra_specs_property(flavor, "hw:cpu_policy") == "shared"
        with pytest.raises(openstack.exceptions.ForbiddenException):
            demo.compute.create_flavor(name=name + "x", ram=512, vcpus=1, disk=1)
    finally:
        admin.compute.delete_flavor(flavor)
    with pytest.raises(openstack.exceptions.NotFoundException):
        admin.compute.get_flavor(name)


def test_keypair_import_fingerprint_and_delete(demo):
    name = f"imp-{uuid.uuid4().hex[:8]}"
    public = fresh_public_key()
    kp = demo.compute.create_keypair(name=name, public_key=public)
    assert kp.fingerprint == md5_fingerprint(public)
    assert name in [k.name for k in demo.compute.keypairs()]
    assert demo.compute.get_keypair(name).public_key.strip() == public.strip()
    with pytest.raises(openstack.exceptions.ConflictException):
        demo.compute.create_keypair(name=name, public_key=public)
    demo.compute.delete_keypair(name)
    with pytest.raises(openstack.exceptions.NotFoundException):
        demo.compute.get_keypair(name)


def test_keypairs_belong_to_their_user(admin, demo):
    name = f"own-{uuid.uuid4().hex[:8]}"
    demo.compute.create_keypair(name=name, public_key=fresh_public_key())
    try:
        assert name not in [k.name for k in admin.compute.keypairs()]
    finally:
        demo.compute.delete_keypair(name)


def test_cli_flavor_and_keypair_round_trip(cli, tmp_path):
    listed = {row["ID"] for row in cli("flavor", "list")}
    assert "s3.large.2" in listed
    shown = cli("flavor", "show", "s3.large.2")
    assert shown["vcpus"] == 2 and shown["ram"] == 4096
    assert shown["properties"], "extra specs show up as properties"

    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = cli("keypair", "create", "--private-key", str(tmp_path / "key"), name)
    assert created["name"] == name
    assert (tmp_path / "key").read_text().startswith("-----BEGIN")
    assert name in {row["Name"] for row in cli("keypair", "list")}
    assert cli("keypair", "show", name)["fingerprint"] == created["fingerprint"]
    cli("keypair", "delete", name, parse=False)
    gone = cli("keypair", "show", name, check=False, parse=False)
    assert gone.returncode != 0


def test_novaclient_lists_flavors(demo):
    from novaclient import client as nova_client

    nova = nova_client.Client("2.1", session=demo.session)
    names = {f.name for f in nova.flavors.list()}
    assert "s3.small.1" in names
