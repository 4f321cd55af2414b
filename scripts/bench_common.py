"""What the benchmark scripts share: one JSON call to the ecsd at $BASE
and an admin login (scripts/bench-servers.py, scripts/bench-ecs-create.py,
scripts/bench-volumes.py)."""

import json
import os
import urllib.request

BASE = os.environ["BASE"]


def call(method, path, body=None, token=None, version="2.37"):
    """`version`: Nova's microversion, or another service's (`volume 3.70`)."""
    req = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    req.add_header("OpenStack-API-Version", version if " " in version else f"compute {version}")
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req) as r:
        return r.status, r.headers, (json.loads(r.read() or b"null"))


def login():
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
            "domain": {"name": "Default"}, "password": "admin"}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    _, headers, b = call("POST", "/identity/v3/auth/tokens", auth)
    return headers["X-Subject-Token"], b["token"]["project"]["id"]
