#!/usr/bin/env python3
"""Volume create->available next to server create->ACTIVE (scripts/bench-volumes.sh).

N single `POST /volume/v3/{project}/volumes` (1 GB, blank) at concurrency 32
until every volume is `available`, then N single `POST /v2.1/servers` at
concurrency 32 until every server is ACTIVE; the baseline is the same
client doing N `GET /` at concurrency 32 in the same run.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

from bench_common import call, login

N = int(os.environ.get("N", "1000"))


TOKEN, PROJECT = login()
IMAGE = call("GET", "/image/v2/images", token=TOKEN)[2]["images"][0]["id"]
VOLUME = "volume 3.70"


def timed_parallel(n, fn, conc=32):
    start = time.perf_counter()
    with ThreadPoolExecutor(conc) as pool:
        list(pool.map(fn, range(n)))
    return time.perf_counter() - start


def volumes_not_available():
    _, _, b = call("GET", f"/volume/v3/{PROJECT}/volumes/detail", token=TOKEN, version=VOLUME)
    return sum(1 for v in b["volumes"] if v["status"] != "available")


def servers_building():
    _, _, b = call("GET", "/v2.1/servers?status=BUILD&limit=1", token=TOKEN)
    return len(b["servers"])


baseline = timed_parallel(N, lambda i: call("GET", "/"))
print(f"baseline: {N} x GET / at c=32 from this client: {N / baseline:8.0f} req/s")

t0 = time.perf_counter()
timed_parallel(N, lambda i: call("POST", f"/volume/v3/{PROJECT}/volumes",
                                 {"volume": {"size": 1, "name": f"bench-{i}"}}, token=TOKEN, version=VOLUME))
while volumes_not_available():
    time.sleep(0.02)
vols = time.perf_counter() - t0
print(f"volumes: {N} creates at c=32 -> available: {N / vols:8.0f} volumes/s ({vols:.2f} s)")

t0 = time.perf_counter()
timed_parallel(N, lambda i: call("POST", "/v2.1/servers", {"server": {
    "name": f"bench-{i}", "flavorRef": "m1.tiny", "imageRef": IMAGE, "networks": "none"}}, token=TOKEN))
while servers_building():
    time.sleep(0.02)
servers = time.perf_counter() - t0
print(f"servers: {N} creates at c=32 -> ACTIVE:    {N / servers:8.0f} servers/s ({servers:.2f} s)")
print(f"volume create rate / server create rate: {servers / vols:.1f} x")
