"""Tempest's response schemas, microversion by microversion, against ecsd.

Tempest's own compute service clients (`tempest.lib.services.compute`) make
the calls, so each response is checked against the schema Tempest itself
picks for the microversion (from the client's `schema_versions_info`, with
the same per-method choices a Tempest run makes). Only the transport is ours:
`requests` with the keystoneauth token of the `ecsd-admin`/`ecsd-demo`
clouds, sending `OpenStack-API-Version: compute X.Y` and
`X-OpenStack-Nova-API-Version: X.Y`.

A schema violation is recorded with its endpoint, microversion and JSON
path, and the run goes on, so one test reports every violation of its
microversion. A call ecsd answers with its generic 404 (no such route) or a
405 is skipped, and the skips are printed.
"""

import time
import urllib.parse
import uuid
from types import SimpleNamespace

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tempest.lib import exceptions as lib_exc
from tempest.lib.common import api_version_request
from tempest.lib.common import rest_client
from tempest.lib.services.compute import (
    aggregates_client,
    availability_zone_client,
    base_compute_client,
    flavors_client,
    floating_ips_client,
    hypervisor_client,
    images_client,
    interfaces_client,
    keypairs_client,
    limits_client,
    networks_client,
    quotas_client,
    security_group_rules_client,
    security_groups_client,
    server_groups_client,
    servers_client,
    services_client,
    snapshots_client,
    versions_client,
    volumes_client,
)

MICROVERSIONS = ["2.1", "2.26", "2.47", "2.53", "2.64", "2.75", "2.90", "2.96", "2.100"]

CLIENTS = {
    "aggregates": aggregates_client.AggregatesClient,
    "az": availability_zone_client.AvailabilityZoneClient,
    "flavors": flavors_client.FlavorsClient,
    "floating_ips": floating_ips_client.FloatingIPsClient,
    "hypervisors": hypervisor_client.HypervisorClient,
    "images": images_client.ImagesClient,
    "interfaces": interfaces_client.InterfacesClient,
    "keypairs": keypairs_client.KeyPairsClient,
    "limits": limits_client.LimitsClient,
    "networks": networks_client.NetworksClient,
    "quotas": quotas_client.QuotasClient,
    "sg_rules": security_group_rules_client.SecurityGroupRulesClient,
    "security_groups": security_groups_client.SecurityGroupsClient,
    "server_groups": server_groups_client.ServerGroupsClient,
    "servers": servers_client.ServersClient,
    "services": services_client.ServicesClient,
    "snapshots": snapshots_client.SnapshotsClient,
    "versions": versions_client.VersionsClient,
    "volumes": volumes_client.VolumesClient,
}

# ecsd's answer to a path no route serves (Nova's generic 404).
ROUTE_MISSING = "The resource could not be found."


# Tempest's HypervisorClient has no schema newer than 2.53's, so from 2.88 on
# it holds Nova's hypervisor view to a schema from before 2.88 removed the
# usage fields and added `uptime`. Only exactly those differences are
# forgiven (and printed as notes); anything else is still a violation.
HYPERVISOR_FIELDS_GONE_AT_288 = {
    "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used", "free_ram_mb",
    "free_disk_gb", "current_workload", "running_vms", "disk_available_least", "cpu_info",
}


def _tempest_gap(run, label, error):
    if not (run.at_least("2.88") and label.startswith("GET /os-hypervisors")):
        return False
    if error.validator == "required":
        return error.message.split("'")[1] in HYPERVISOR_FIELDS_GONE_AT_288
    return error.validator == "additionalProperties" and error.message.endswith("('uptime' was unexpected)")


# --- transport: Tempest's clients over requests with a keystoneauth token ----


class _Auth:
    """The slice of a Tempest auth provider the service clients use."""

    def __init__(self, conn):
        self.token = conn.session.get_token()
        self.endpoint = conn.session.get_endpoint(service_type="compute", interface="public").rstrip("/")
        self.project_id = conn.current_project_id

    def auth_request(self, method, url, headers=None, body=None, filters=None):
        headers = dict(headers or {})
        headers["X-Auth-Token"] = self.token
        if not url.startswith(("http://", "https://")):
            url = f"{self.endpoint}/{url.lstrip('/')}"
        return url, headers, body

    def base_url(self, filters, auth_data=None):
        return self.endpoint

    def get_token(self):
        return self.token


class _Response(dict):
    """What Tempest's urllib3 wrapper returns: lower-case headers and `.status`."""

    def __init__(self, r, url):
        super().__init__({k.lower(): v for k, v in r.headers.items()})
        self.status = r.status_code
        self.reason = r.reason
        self["status"] = str(r.status_code)
        self["content-location"] = url


class _Http:
    def __init__(self, run):
        self.run = run
        self.session = requests.Session()

    def request(self, url, method, headers=None, body=None, chunked=False, preload_content=True):
        headers = dict(headers or {})
        mv = base_compute_client.COMPUTE_MICROVERSION
        if mv:
            headers["OpenStack-API-Version"] = f"compute {mv}"
            headers["X-OpenStack-Nova-API-Version"] = mv
        r = self.session.request(method, url, headers=headers, data=body, timeout=60)
        self.run.last = f"{method} {urllib.parse.urlsplit(url).path}"
        return _Response(r, url), r.content


# --- one microversion's run: calls, violations, skips ---------------------------


def _json_path(error):
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


class NoTempestSchema(Exception):
    pass


class _SchemaChain:
    def __init__(self, run, modules):
        self.run, self.modules = run, modules

    def __getattr__(self, name):
        short = lambda m: m.__name__.split(".")[-2]  # noqa: E731
        for module in self.modules:
            if hasattr(module, name):
                if module is not self.modules[0]:
                    note = f"Tempest's {short(self.modules[0])} lacks {name}; used {short(module)}'s"
                    if note not in self.run.notes:
                        self.run.notes.append(note)
                return getattr(module, name)
        raise NoTempestSchema(f"no Tempest schema {name} at {self.run.mv}")


class Run:
    def __init__(self, mv):
        self.mv = mv
        self.version = api_version_request.APIVersionRequest(mv)
        self.violations = []  # (endpoint, detail), in order, without repeats
        self.errors = []
        self.skipped = []
        self.notes = []
        self.validated = 0
        self.label = None
        self.last = None

    def at_least(self, v):
        return self.version >= api_version_request.APIVersionRequest(v)

    def at_most(self, v):
        return self.version <= api_version_request.APIVersionRequest(v)

    def _get_schema(self, schema_versions_info):
        """Tempest's BaseComputeClient.get_schema, and where the chosen module
        forgot to re-export a schema, the newest earlier module's (the one
        still in force); a schema no module up to here has is not Tempest's."""
        chosen = base_compute_client.BaseComputeClient.get_schema(None, schema_versions_info)
        upto = next(i for i, item in enumerate(schema_versions_info) if item["schema"] is chosen)
        return _SchemaChain(self, [item["schema"] for item in reversed(schema_versions_info[: upto + 1])])

    def clients(self, conn):
        auth = _Auth(conn)
        http = _Http(self)
        made = {}
        for name, cls in CLIENTS.items():
            client = cls(auth, "compute", "RegionOne")
            client.http_obj = http
            client.validate_response = self._validate
            client.get_schema = self._get_schema
            made[name] = client
        return SimpleNamespace(auth=auth, **made)

    def _violation(self, detail):
        entry = (self.label or self.last, detail)
        if entry not in self.violations:
            self.violations.append(entry)

    def _validate(self, schema, resp, body):
        """Tempest's RestClient.validate_response, collecting every error."""
        self.validated += 1
        try:
            rest_client.RestClient.validate_response(schema, resp, body)
            return
        except lib_exc.InvalidHttpSuccessCode:
            self._violation(f"status {resp.status}, Tempest expects {schema['status_code']}")
            return
        except (lib_exc.InvalidHTTPResponseBody, lib_exc.InvalidHTTPResponseHeader) as ex:
            fallback = str(ex)
        found = False
        for part, instance in (("response_body", body), ("response_header", resp)):
            if not schema.get(part):
                continue
            validator = rest_client.JSONSCHEMA_VALIDATOR(schema[part], format_checker=rest_client.FORMAT_CHECKER)
            for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
                found = True
                label = self.label or self.last
                if _tempest_gap(self, label, error):
                    note = f"{label}: forgave Nova 2.88's hypervisor changes (Tempest's newest schema is 2.53's)"
                    if note not in self.notes:
                        self.notes.append(note)
                    continue
                where = "header " if part == "response_header" else ""
                self._violation(f"{where}{_json_path(error)}: {error.message}")
        if not found:
            self._violation(fallback)

    def call(self, label, fn, *args, missing_ok=False, **kwargs):
        """One validated call; None when it was skipped or failed.

        `missing_ok`: any 404 means the route is not there (for paths that
        an `{id}` route of ecsd swallows)."""
        self.label = label
        try:
            return fn(*args, **kwargs)
        except NoTempestSchema as ex:
            self.skipped.append(f"{label} ({ex})")
        except lib_exc.NotFound as ex:
            if missing_ok or ROUTE_MISSING in str(ex.resp_body):
                self.skipped.append(f"{label} (404: no route)")
            else:
                self.errors.append(f"{label} @ {self.mv}: HTTP 404 {ex.resp_body}")
        except lib_exc.RestClientException as ex:
            status = getattr(getattr(ex, "resp", None), "status", "?")
            if status == 405:
                self.skipped.append(f"{label} (405)")
            else:
                self.errors.append(f"{label} @ {self.mv}: HTTP {status} {getattr(ex, 'resp_body', ex)}")
        except (lib_exc.TempestException, ValueError) as ex:
            self.errors.append(f"{label} @ {self.mv}: {type(ex).__name__}: {ex}")
        finally:
            self.label = None
        return None

    def report(self):
        lines = []
        if self.violations:
            lines.append(f"Tempest schema violations at compute {self.mv}:")
            lines += [f"  {endpoint} @ {self.mv}: {detail}" for endpoint, detail in self.violations]
        if self.errors:
            lines.append(f"Failed calls at compute {self.mv}:")
            lines += [f"  {e}" for e in self.errors]
        return "\n".join(lines)


# --- unvalidated helpers for setup and waiting -----------------------------------


def raw(auth, method, path, mv="2.1", **kwargs):
    headers = {
        "X-Auth-Token": auth.token,
        "OpenStack-API-Version": f"compute {mv}",
        "X-OpenStack-Nova-API-Version": mv,
    }
    return requests.request(method, f"{auth.endpoint}/{path}", headers=headers, timeout=60, **kwargs)


def wait_server(auth, server_id, status, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = raw(auth, "GET", f"servers/{server_id}")
        if r.status_code == 404 and status == "DELETED":
            return
        r.raise_for_status()
        server = r.json()["server"]
        if server["status"] == status and not server.get("OS-EXT-STS:task_state"):
            return
        if server["status"] == "ERROR":
            raise AssertionError(f"server {server_id} went to ERROR waiting for {status}: {server.get('fault')}")
        time.sleep(0.1)
    raise AssertionError(f"server {server_id} never became {status}")


def wait_volume(auth, volume_id, status, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = raw(auth, "GET", f"os-volumes/{volume_id}")
        if r.status_code == 404 and status == "deleted":
            return
        if r.ok and r.json()["volume"]["status"] == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"volume {volume_id} never became {status}")


def public_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    )


def console_token(url):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if "token" in query:
        return query["token"][0]
    if "path" in query:
        inner = urllib.parse.parse_qs(urllib.parse.urlsplit(query["path"][0]).query)
        return inner.get("token", [None])[0]
    return None


# --- the endpoints, section by section --------------------------------------------


def check_versions(run, d):
    root = d.auth.endpoint.rsplit("/v2", 1)[0]
    run.call("GET /", d.versions.list_versions)
    run.call("GET /v2.1", d.versions.get_version_by_url, f"{root}/v2.1")
    run.call("GET /v2.1/", d.versions.get_version_by_url, f"{root}/v2.1/")


def check_flavors(run, a, d, ctx):
    run.call("GET /flavors", d.flavors.list_flavors)
    run.call("GET /flavors/detail", d.flavors.list_flavors, detail=True)
    run.call("GET /flavors?limit=2 (flavors_links)", d.flavors.list_flavors, limit=2)
    run.call("GET /flavors/detail?limit=2 (flavors_links)", d.flavors.list_flavors, detail=True, limit=2)
    run.call("GET /flavors/{id}", d.flavors.show_flavor, ctx.flavor)
    specs = run.call("GET /flavors/{id}/os-extra_specs", d.flavors.list_flavor_extra_specs, ctx.flavor)
    if specs and specs.get("extra_specs"):
        key = next(iter(specs["extra_specs"]))
        run.call("GET /flavors/{id}/os-extra_specs/{key}", d.flavors.show_flavor_extra_spec, ctx.flavor, key)

    kwargs = {"name": f"tempest-{uuid.uuid4().hex[:8]}", "ram": 512, "vcpus": 1, "disk": 1, "is_public": False}
    kwargs["id"] = str(uuid.uuid4())
    if run.at_least("2.55"):
        kwargs["description"] = "made by the Tempest schema test"
    flavor = run.call("POST /flavors", a.flavors.create_flavor, **kwargs)
    if not flavor:
        return
    fid = flavor["flavor"]["id"]
    try:
        run.call("GET /flavors/{id} (private)", a.flavors.show_flavor, fid)
        if run.at_least("2.55"):
            run.call("PUT /flavors/{id}", a.flavors.update_flavor, fid, description="updated")
        run.call("GET /flavors/{id}/os-flavor-access", a.flavors.list_flavor_access, fid)
        run.call("POST /flavors/{id}/action addTenantAccess", a.flavors.add_flavor_access, fid, ctx.demo_project)
        run.call(
            "POST /flavors/{id}/action removeTenantAccess", a.flavors.remove_flavor_access, fid, ctx.demo_project
        )
        run.call("POST /flavors/{id}/os-extra_specs", a.flavors.set_flavor_extra_spec, fid, **{"hw:cpu_policy": "shared"})
        run.call(
            "PUT /flavors/{id}/os-extra_specs/{key}",
            a.flavors.update_flavor_extra_spec,
            fid,
            "hw:cpu_policy",
            **{"hw:cpu_policy": "dedicated"},
        )
        run.call("GET /flavors/{id}/os-extra_specs (admin)", a.flavors.list_flavor_extra_specs, fid)
        run.call("DELETE /flavors/{id}/os-extra_specs/{key}", a.flavors.unset_flavor_extra_spec, fid, "hw:cpu_policy")
    finally:
        run.call("DELETE /flavors/{id}", a.flavors.delete_flavor, fid)


def check_keypairs(run, d):
    kwargs = {"type": "ssh"} if run.at_least("2.2") else {}
    names = []
    if run.at_most("2.91"):
        made = run.call("POST /os-keypairs (generate)", d.keypairs.create_keypair, name=f"tk-{uuid.uuid4().hex[:8]}", **kwargs)
        if made:
            names.append(made["keypair"]["name"])
    imported = run.call(
        "POST /os-keypairs (import)",
        d.keypairs.create_keypair,
        name=f"tk-{uuid.uuid4().hex[:8]}",
        public_key=public_key(),
        **kwargs,
    )
    if imported:
        names.append(imported["keypair"]["name"])
    run.call("GET /os-keypairs", d.keypairs.list_keypairs)
    # Not paged: Nova adds `keypairs_links` (2.35) and Tempest's schema does not know it.
    for name in names:
        run.call("GET /os-keypairs/{name}", d.keypairs.show_keypair, name)
    for name in names[1:]:
        run.call("DELETE /os-keypairs/{name}", d.keypairs.delete_keypair, name)
    return names[0] if names else None


def check_limits_quotas(run, a, d, ctx):
    run.call("GET /limits", d.limits.show_limits)
    run.call("GET /os-quota-sets/{project}", d.quotas.show_quota_set, ctx.demo_project)
    run.call("GET /os-quota-sets/{project}/detail", d.quotas.show_quota_set, ctx.demo_project, detail=True)
    run.call("GET /os-quota-sets/{project}/defaults", d.quotas.show_default_quota_set, ctx.demo_project)
    admin_project = a.auth.project_id
    run.call("PUT /os-quota-sets/{project}", a.quotas.update_quota_set, admin_project, instances=25, cores=50)
    run.call("DELETE /os-quota-sets/{project}", a.quotas.delete_quota_set, admin_project)


def check_server_groups(run, d):
    if run.at_least("2.64"):
        kwargs = {"policy": "anti-affinity", "rules": {"max_server_per_host": 3}}
    else:
        kwargs = {"policies": ["affinity"]}
    group = run.call("POST /os-server-groups", d.server_groups.create_server_group, name="tempest-sg", **kwargs)
    run.call("GET /os-server-groups", d.server_groups.list_server_groups)
    if group:
        gid = group["server_group"]["id"]
        run.call("GET /os-server-groups/{id}", d.server_groups.show_server_group, gid)
        run.call("DELETE /os-server-groups/{id}", d.server_groups.delete_server_group, gid)


def check_aggregates(run, a):
    made = run.call("POST /os-aggregates", a.aggregates.create_aggregate, name=f"ta-{uuid.uuid4().hex[:8]}",
                    availability_zone=f"tz-{uuid.uuid4().hex[:6]}")
    run.call("GET /os-aggregates", a.aggregates.list_aggregates)
    if not made:
        return
    aid = made["aggregate"]["id"]
    host = raw(a.auth, "GET", "os-hypervisors").json()["hypervisors"][-1]["hypervisor_hostname"]
    run.call("GET /os-aggregates/{id}", a.aggregates.show_aggregate, aid)
    run.call("PUT /os-aggregates/{id}", a.aggregates.update_aggregate, aid, name=f"tb-{uuid.uuid4().hex[:8]}")
    run.call("POST /os-aggregates/{id}/action (add_host)", a.aggregates.add_host, aid, host=host)
    run.call("POST /os-aggregates/{id}/action (set_metadata)", a.aggregates.set_metadata, aid, metadata={"k": "v"})
    run.call("POST /os-aggregates/{id}/action (remove_host)", a.aggregates.remove_host, aid, host=host)
    run.call("DELETE /os-aggregates/{id}", a.aggregates.delete_aggregate, aid)


def check_hosts(run, a, d):
    run.call("GET /os-availability-zone", d.az.list_availability_zones)
    run.call("GET /os-availability-zone/detail", a.az.list_availability_zones, detail=True)
    run.call("GET /os-services", a.services.list_services)
    hypervisors = run.call("GET /os-hypervisors", a.hypervisors.list_hypervisors)
    run.call("GET /os-hypervisors/detail", a.hypervisors.list_hypervisors, detail=True)
    if hypervisors and hypervisors["hypervisors"]:
        first = hypervisors["hypervisors"][0]
        run.call("GET /os-hypervisors/{id}", a.hypervisors.show_hypervisor, first["id"])
        if run.at_least("2.53"):
            run.call(
                "GET /os-hypervisors/detail?with_servers=true",
                a.hypervisors.list_hypervisors,
                detail=True,
                with_servers=True,
            )
        if run.at_most("2.87"):
            run.call("GET /os-hypervisors/statistics", a.hypervisors.show_hypervisor_statistics, missing_ok=True)
            run.call("GET /os-hypervisors/{id}/uptime", a.hypervisors.show_hypervisor_uptime, first["id"], missing_ok=True)
        if run.at_most("2.52"):
            name = first["hypervisor_hostname"]
            run.call("GET /os-hypervisors/{name}/search", a.hypervisors.search_hypervisor, name, missing_ok=True)
            run.call("GET /os-hypervisors/{name}/servers", a.hypervisors.list_servers_on_hypervisor, name, missing_ok=True)


def check_proxies(run, d, ctx):
    """The proxy APIs Nova removed at 2.36 (Tempest runs them up to 2.35)."""
    run.call("GET /images", d.images.list_images)
    run.call("GET /images/detail", d.images.list_images, detail=True)
    run.call("GET /images?limit=1 (images_links)", d.images.list_images, limit=1)
    run.call("GET /images/{id}", d.images.show_image, ctx.image)
    run.call("GET /images/{id}/metadata", d.images.list_image_metadata, ctx.image)

    networks = run.call("GET /os-networks", d.networks.list_networks)
    if networks and networks.get("networks"):
        run.call("GET /os-networks/{id}", d.networks.show_network, networks["networks"][0]["id"])

    group = run.call(
        "POST /os-security-groups",
        d.security_groups.create_security_group,
        name=f"tsg-{uuid.uuid4().hex[:6]}",
        description="tempest schema",
    )
    run.call("GET /os-security-groups", d.security_groups.list_security_groups)
    if group:
        gid = group["security_group"]["id"]
        run.call("GET /os-security-groups/{id}", d.security_groups.show_security_group, gid)
        run.call(
            "PUT /os-security-groups/{id}",
            d.security_groups.update_security_group,
            gid,
            name=group["security_group"]["name"],
            description="updated",
        )
        rule = run.call(
            "POST /os-security-group-rules",
            d.sg_rules.create_security_group_rule,
            parent_group_id=gid,
            ip_protocol="tcp",
            from_port=22,
            to_port=22,
            cidr="0.0.0.0/0",
        )
        if rule:
            run.call(
                "DELETE /os-security-group-rules/{id}",
                d.sg_rules.delete_security_group_rule,
                rule["security_group_rule"]["id"],
            )
        run.call("DELETE /os-security-groups/{id}", d.security_groups.delete_security_group, gid)

    run.call("GET /os-floating-ips", d.floating_ips.list_floating_ips)

    volume = run.call("POST /os-volumes", d.volumes.create_volume, size=1, display_name="tempest-vol")
    run.call("GET /os-volumes", d.volumes.list_volumes)
    run.call("GET /os-volumes/detail", d.volumes.list_volumes, detail=True)
    if volume:
        vid = volume["volume"]["id"]
        wait_volume(d.auth, vid, "available")
        run.call("GET /os-volumes/{id}", d.volumes.show_volume, vid)
        snap = run.call("POST /os-snapshots", d.snapshots.create_snapshot, volume_id=vid, display_name="tempest-snap")
        run.call("GET /os-snapshots", d.snapshots.list_snapshots)
        run.call("GET /os-snapshots/detail", d.snapshots.list_snapshots, detail=True)
        if snap:
            sid = snap["snapshot"]["id"]
            run.call("GET /os-snapshots/{id}", d.snapshots.show_snapshot, sid)
            run.call("DELETE /os-snapshots/{id}", d.snapshots.delete_snapshot, sid)
            for _ in range(100):
                if raw(d.auth, "GET", f"os-snapshots/{sid}").status_code == 404:
                    break
                time.sleep(0.1)
        run.call("DELETE /os-volumes/{id}", d.volumes.delete_volume, vid)


def create_server(run, d, ctx, key_name):
    kwargs = {
        "name": f"tempest-{run.mv}",
        "imageRef": ctx.image,
        "flavorRef": ctx.flavor,
        "metadata": {"purpose": "tempest"},
    }
    if key_name:
        kwargs["key_name"] = key_name
    if run.at_least("2.37"):
        kwargs["networks"] = "auto"
    server = run.call("POST /servers", d.servers.create_server, **kwargs)
    if not server:
        return None
    sid = server["server"]["id"]
    wait_server(d.auth, sid, "ACTIVE")
    return sid


def check_server_reads(run, a, d, sid):
    s = d.servers
    run.call("GET /servers", s.list_servers)
    run.call("GET /servers/detail", s.list_servers, detail=True)
    run.call("GET /servers?limit=1 (servers_links)", s.list_servers, limit=1)
    run.call("GET /servers/detail?limit=1 (servers_links)", s.list_servers, detail=True, limit=1)
    run.call("GET /servers/{id}", s.show_server, sid)
    run.call("GET /servers/{id} (admin)", a.servers.show_server, sid)
    run.call("GET /servers/detail?all_tenants (admin)", a.servers.list_servers, detail=True, all_tenants=True)
    run.call("PUT /servers/{id}", s.update_server, sid, name=f"tempest-{run.mv}-renamed")
    addresses = run.call("GET /servers/{id}/ips", s.list_addresses, sid)
    if addresses and addresses.get("addresses"):
        network = next(iter(addresses["addresses"]))
        run.call("GET /servers/{id}/ips/{network}", s.list_addresses_by_network, sid, network)
    run.call("GET /servers/{id}/os-security-groups", s.list_security_groups_by_server, sid)

    run.call("PUT /servers/{id}/metadata", s.set_server_metadata, sid, {"a": "1", "b": "2"})
    run.call("POST /servers/{id}/metadata", s.update_server_metadata, sid, {"c": "3"})
    run.call("GET /servers/{id}/metadata", s.list_server_metadata, sid)
    run.call("GET /servers/{id}/metadata/{key}", s.show_server_metadata_item, sid, "a")
    run.call("PUT /servers/{id}/metadata/{key}", s.set_server_metadata_item, sid, "d", {"d": "4"})
    run.call("DELETE /servers/{id}/metadata/{key}", s.delete_server_metadata_item, sid, "d")

    if run.at_least("2.26"):
        run.call("PUT /servers/{id}/tags", s.update_all_tags, sid, ["alpha", "beta"])
        run.call("GET /servers/{id}/tags", s.list_tags, sid)
        run.call("GET /servers/{id}/tags/{tag}", s.check_tag_existence, sid, "alpha")
        run.call("PUT /servers/{id}/tags/{tag}", s.update_tag, sid, "gamma")
        run.call("DELETE /servers/{id}/tags/{tag}", s.delete_tag, sid, "gamma")
        run.call("DELETE /servers/{id}/tags", s.delete_all_tags, sid)


def check_interfaces_and_volumes(run, d, sid):
    ifaces = run.call("GET /servers/{id}/os-interface", d.interfaces.list_interfaces, sid)
    if ifaces and ifaces.get("interfaceAttachments"):
        first = ifaces["interfaceAttachments"][0]
        run.call("GET /servers/{id}/os-interface/{port}", d.interfaces.show_interface, sid, first["port_id"])
        made = run.call("POST /servers/{id}/os-interface", d.interfaces.create_interface, sid, net_id=first["net_id"])
        wait_server(d.auth, sid, "ACTIVE")
        if made:
            port = made["interfaceAttachment"]["port_id"]
            run.call("DELETE /servers/{id}/os-interface/{port}", d.interfaces.delete_interface, sid, port)
            wait_server(d.auth, sid, "ACTIVE")

    # The volume comes from the os-volumes proxy at 2.1 (it has no other door).
    r = raw(d.auth, "POST", "os-volumes", json={"volume": {"size": 1, "display_name": f"tempest-att-{run.mv}"}})
    if r.status_code == 404:
        run.skipped.append("os-volume_attachments (no os-volumes to make a volume)")
        return
    r.raise_for_status()
    vid = r.json()["volume"]["id"]
    wait_volume(d.auth, vid, "available")
    try:
        attached = run.call("POST /servers/{id}/os-volume_attachments", d.servers.attach_volume, sid, volumeId=vid)
        if not attached:
            return
        wait_volume(d.auth, vid, "in-use")
        run.call("GET /servers/{id}/os-volume_attachments", d.servers.list_volume_attachments, sid)
        run.call("GET /servers/{id}/os-volume_attachments/{volume}", d.servers.show_volume_attachment, sid, vid)
        run.call("DELETE /servers/{id}/os-volume_attachments/{volume}", d.servers.detach_volume, sid, vid)
        wait_volume(d.auth, vid, "available")
        wait_server(d.auth, sid, "ACTIVE")
    finally:
        raw(d.auth, "DELETE", f"os-volumes/{vid}")


def check_consoles_and_passwords(run, a, d, sid):
    s = d.servers
    run.call("POST /servers/{id}/action os-getConsoleOutput", s.get_console_output, sid, length=10)
    if run.at_most("2.5"):
        run.call("POST /servers/{id}/action os-getVNCConsole", s.get_vnc_console, sid, type="novnc")
    else:
        console = run.call("POST /servers/{id}/remote-consoles", s.get_remote_console, sid, "novnc", "vnc")
        token = console and console_token(console["remote_console"]["url"])
        if token and run.at_least("2.31"):
            run.call("GET /os-console-auth-tokens/{token}", a.servers.get_console_auth_token_details, token)
    run.call("POST /servers/{id}/action changePassword", s.change_password, sid, adminPass="Tempest-pass-1")
    wait_server(d.auth, sid, "ACTIVE")
    run.call("GET /servers/{id}/os-server-password", s.show_password, sid)
    run.call("DELETE /servers/{id}/os-server-password", s.delete_password, sid)


def check_power_actions(run, d, sid):
    s = d.servers
    steps = [
        ("os-stop", s.stop_server, {}, "SHUTOFF"),
        ("os-start", s.start_server, {}, "ACTIVE"),
        ("reboot", s.reboot_server, {"type": "SOFT"}, "ACTIVE"),
        ("pause", s.pause_server, {}, "PAUSED"),
        ("unpause", s.unpause_server, {}, "ACTIVE"),
        ("suspend", s.suspend_server, {}, "SUSPENDED"),
        ("resume", s.resume_server, {}, "ACTIVE"),
    ]
    for name, fn, kwargs, status in steps:
        if run.call(f"POST /servers/{{id}}/action {name}", fn, sid, **kwargs) is not None:
            wait_server(d.auth, sid, status)
    lock = {"locked_reason": "tempest"} if run.at_least("2.73") else {}
    run.call("POST /servers/{id}/action lock", s.lock_server, sid, **lock)
    run.call("POST /servers/{id}/action unlock", s.unlock_server, sid)
    # A group of its own, made through the os-security-groups proxy at 2.1.
    name = f"tsg-{run.mv}"
    r = raw(d.auth, "POST", "os-security-groups", json={"security_group": {"name": name, "description": "t"}})
    if r.ok:
        try:
            run.call("POST /servers/{id}/action addSecurityGroup", s.add_security_group, sid, name=name)
            run.call("POST /servers/{id}/action removeSecurityGroup", s.remove_security_group, sid, name=name)
        finally:
            raw(d.auth, "DELETE", f"os-security-groups/{r.json()['security_group']['id']}")
    else:
        run.skipped.append(f"add/removeSecurityGroup (no group to add: {r.status_code})")


def check_snapshot(run, d, sid):
    made = run.call("POST /servers/{id}/action createImage", d.images.create_image, sid, name=f"tempest-snap-{run.mv}")
    if made is None:
        return
    wait_server(d.auth, sid, "ACTIVE")
    if run.at_least("2.45"):
        image_id = made["image_id"]
    else:
        image_id = made.response["location"].rstrip("/").rsplit("/", 1)[-1]
    if run.at_most("2.35"):
        i = d.images
        run.call("GET /images/{id} (snapshot)", i.show_image, image_id)
        run.call("PUT /images/{id}/metadata", i.set_image_metadata, image_id, {"os_distro": "cirros"})
        run.call("POST /images/{id}/metadata", i.update_image_metadata, image_id, {"extra": "1"})
        run.call("GET /images/{id}/metadata/{key}", i.show_image_metadata_item, image_id, "extra")
        run.call("PUT /images/{id}/metadata/{key}", i.set_image_metadata_item, image_id, "extra", {"extra": "2"})
        run.call("DELETE /images/{id}/metadata/{key}", i.delete_image_metadata_item, image_id, "extra")
        run.call("DELETE /images/{id}", i.delete_image, image_id)
    else:
        raw(d.auth, "DELETE", f"images/{image_id}")


def check_resize_rebuild(run, d, ctx, sid):
    s = d.servers
    if run.call("POST /servers/{id}/action resize", s.resize_server, sid, ctx.bigger_flavor) is not None:
        wait_server(d.auth, sid, "VERIFY_RESIZE")
        run.call("POST /servers/{id}/action confirmResize", s.confirm_resize_server, sid)
        wait_server(d.auth, sid, "ACTIVE")
        run.call("GET /servers/{id} (resized)", s.show_server, sid)
        if run.call("POST /servers/{id}/action resize (again)", s.resize_server, sid, ctx.flavor) is not None:
            wait_server(d.auth, sid, "VERIFY_RESIZE")
            run.call("POST /servers/{id}/action revertResize", s.revert_resize_server, sid)
            wait_server(d.auth, sid, "ACTIVE")
    if run.call("POST /servers/{id}/action rebuild", s.rebuild_server, sid, ctx.image, name=f"tempest-{run.mv}-rebuilt"):
        wait_server(d.auth, sid, "ACTIVE")
        run.call("GET /servers/{id} (rebuilt)", s.show_server, sid)


def check_instance_actions(run, a, d, sid):
    actions = run.call("GET /servers/{id}/os-instance-actions", d.servers.list_instance_actions, sid)
    if actions and actions.get("instanceActions"):
        for action in (actions["instanceActions"][0], actions["instanceActions"][-1]):
            request_id = action["request_id"]
            run.call(
                "GET /servers/{id}/os-instance-actions/{request_id}", d.servers.show_instance_action, sid, request_id
            )
            run.call(
                "GET /servers/{id}/os-instance-actions/{request_id} (admin)",
                a.servers.show_instance_action,
                sid,
                request_id,
            )


def check_floating_ips(run, d, sid):
    pools = raw(d.auth, "GET", "os-floating-ip-pools")
    pool = pools.ok and next(iter(pools.json().get("floating_ip_pools", [])), None)
    if not pool:
        run.skipped.append(f"os-floating-ips create/show/associate/delete (no pool: {pools.status_code})")
        return
    fip = run.call("POST /os-floating-ips", d.floating_ips.create_floating_ip, pool=pool["name"])
    if not fip:
        return
    fid, address = fip["floating_ip"]["id"], fip["floating_ip"]["ip"]
    run.call("GET /os-floating-ips/{id}", d.floating_ips.show_floating_ip, fid)
    if sid:
        run.call("POST /servers/{id}/action addFloatingIp", d.floating_ips.associate_floating_ip_to_server, address, sid)
        run.call("GET /os-floating-ips (associated)", d.floating_ips.list_floating_ips)
        run.call(
            "POST /servers/{id}/action removeFloatingIp",
            d.floating_ips.disassociate_floating_ip_from_server,
            address,
            sid,
        )
    run.call("DELETE /os-floating-ips/{id}", d.floating_ips.delete_floating_ip, fid)


# --- the test --------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(admin, demo):
    auth = _Auth(demo)
    # A floating IP pool (an external network) for os-floating-ips.
    public = admin.network.create_network(name="tempest-public", is_shared=True, is_router_external=True)
    admin.network.create_subnet(network_id=public.id, cidr="172.31.250.0/24", ip_version=4)
    images = raw(auth, "GET", "images").json()["images"]
    flavors = raw(auth, "GET", "flavors/detail").json()["flavors"]
    by_name = {f["name"]: f for f in flavors}
    small = by_name.get("s3.small.1") or min(flavors, key=lambda f: f["ram"])
    bigger = min(
        (f for f in flavors if f["ram"] > small["ram"] and f["disk"] >= small["disk"] and f["vcpus"] >= small["vcpus"]),
        key=lambda f: f["ram"],
    )
    yield SimpleNamespace(
        image=images[0]["id"],
        flavor=small["id"],
        bigger_flavor=bigger["id"],
        demo_project=demo.current_project_id,
    )
    try:
        admin.network.delete_network(public, ignore_missing=True)
    except Exception as ex:  # a leftover port must not fail the run
        print(f"could not delete {public.id}: {ex}")


@pytest.mark.parametrize("mv", MICROVERSIONS)
def test_tempest_schemas(mv, admin, demo, seeded, capsys):
    run = Run(mv)
    a, d = run.clients(admin), run.clients(demo)
    base_compute_client.COMPUTE_MICROVERSION = mv
    sid = None
    try:
        check_versions(run, d)
        check_flavors(run, a, d, seeded)
        key_name = check_keypairs(run, d)
        check_limits_quotas(run, a, d, seeded)
        check_server_groups(run, d)
        check_hosts(run, a, d)
        check_aggregates(run, a)
        if run.at_most("2.35"):
            check_proxies(run, d, seeded)

        sid = create_server(run, d, seeded, key_name)
        if sid:
            check_server_reads(run, a, d, sid)
            check_instance_actions(run, a, d, sid)
            check_interfaces_and_volumes(run, d, sid)
            check_consoles_and_passwords(run, a, d, sid)
            check_power_actions(run, d, sid)
            check_snapshot(run, d, sid)
            check_resize_rebuild(run, d, seeded, sid)
            if run.at_most("2.35"):
                check_floating_ips(run, d, sid)
            check_instance_actions(run, a, d, sid)
            if run.call("DELETE /servers/{id}", d.servers.delete_server, sid) is not None:
                wait_server(d.auth, sid, "DELETED")
                sid = None
        if key_name:
            run.call("DELETE /os-keypairs/{name}", d.keypairs.delete_keypair, key_name)
    finally:
        base_compute_client.COMPUTE_MICROVERSION = None
        if sid:
            raw(d.auth, "DELETE", f"servers/{sid}")

    with capsys.disabled():
        print(f"\n[tempest schemas {mv}] {run.validated} responses validated")
        if run.skipped:
            print(f"[tempest schemas {mv}] skipped: " + "; ".join(run.skipped))
        if run.notes:
            print(f"[tempest schemas {mv}] notes: " + "; ".join(run.notes))
    report = run.report()
    assert not report, report
