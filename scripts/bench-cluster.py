#!/usr/bin/env python3
"""Create->ACTIVE throughput against one or more API nodes (see scripts/bench-cluster.sh).

N single creates at concurrency 32, spread round robin over BASES (comma
separated), timed from the first request until no server is in BUILD.
Prints one line: `<LABEL> N servers: <seconds> s, <servers/s> servers/s, <errors> ERROR`.
"""

import json
import os
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BASES = os.environ["BASES"].split(",")
N = int(os.environ.get("N", "500"))
LABEL = os.environ.get("LABEL", "ecsd")
CONCURRENCY = int(os.environ.get("CONCURRENCY", "32"))


def call(base, method, path, body=None, token=None, version="2.37"):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    req.add_header("OpenStack-API-Version", f"compute {version}")
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.headers, json.loads(r.read() or b"null")


auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
        "domain": {"name": "Default"}, "password": "admin"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
_, headers, _ = call(BASES[0], "POST", "/identity/v3/auth/tokens", auth)
TOKEN = headers["X-Subject-Token"]
IMAGE = call(BASES[0], "GET", "/image/v2/images", token=TOKEN)[2]["images"][0]["id"]


def create(i):
    body = {"server": {"name": f"bench-{i}", "flavorRef": "m1.tiny", "imageRef": IMAGE, "networks": "none"}}
    status, _, _ = call(BASES[i % len(BASES)], "POST", "/v2.1/servers", body, TOKEN)
    assert status == 202, status


def count(status):
    _, _, b = call(BASES[0], "GET", f"/v2.1/servers?status={status}&limit=1000", token=TOKEN)
    return len(b["servers"])


start = time.monotonic()
with ThreadPoolExecutor(CONCURRENCY) as pool:
    list(pool.map(create, range(N)))
while count("BUILD"):
    time.sleep(0.05)
elapsed = time.monotonic() - start
errors = count("ERROR")
print(f"{LABEL}: {N} servers: {elapsed:.2f} s, {N / elapsed:.1f} servers/s, {errors} ERROR")
if errors:
    sys.exit(1)
