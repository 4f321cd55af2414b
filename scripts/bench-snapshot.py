#!/usr/bin/env python3
"""Reset-to-snapshot time (see scripts/bench-snapshot.sh): SERVERS servers
stored (multi-creates of 250; without a network: the seeded /24 holds
fewer addresses than servers),
one snapshot, then RESTORES resets timed from request to response, after
each of which one server is created and deleted so that every reset has
something to undo."""

import os
import statistics
import time

from bench_common import call, login

SERVERS = int(os.environ.get("SERVERS", "1000"))
RESTORES = int(os.environ.get("RESTORES", "50"))

TOKEN, PROJECT = login()
IMAGE = call("GET", "/image/v2/images", token=TOKEN)[2]["images"][0]["id"]


def create(name, count):
    body = {"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": IMAGE, "networks": "none",
                       "min_count": count, "max_count": count, "return_reservation_id": True}}
    call("POST", "/v2.1/servers", body, token=TOKEN)


def building():
    return len(call("GET", "/v2.1/servers?status=BUILD&limit=1", token=TOKEN)[2]["servers"])


def wait_built():
    while building():
        time.sleep(0.05)


start = time.perf_counter()
for i in range(0, SERVERS, 250):
    create(f"bench-{i}", min(250, SERVERS - i))
    wait_built()
print(f"{SERVERS} servers created in {time.perf_counter() - start:.1f} s")

t = time.perf_counter()
_, _, snap = call("POST", "/admin/v1/snapshots", {"name": "bench"}, token=TOKEN)
took = (time.perf_counter() - t) * 1000
s = snap["snapshot"]
print(f"snapshot: {s['rows']} rows in {len(s['counts'])} tables, {s['guests']} guests, taken in {took:.1f} ms")

times = []
for i in range(RESTORES):
    create(f"extra-{i}", 1)
    wait_built()
    t = time.perf_counter()
    status, _, body = call("POST", "/admin/v1/snapshots/bench/restore", token=TOKEN)
    times.append((time.perf_counter() - t) * 1000)
    assert status == 200, body
servers = call("GET", "/v2.1/servers?limit=2000", token=TOKEN)[2]["servers"]
assert len(servers) == SERVERS, len(servers)
assert s["guests"] == SERVERS, f"{s['guests']} guests: some creates failed"
times.sort()
p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
print(f"restore with {SERVERS} servers stored ({RESTORES} resets): median {statistics.median(times):.1f} ms, "
      f"p95 {p95:.1f} ms, min {times[0]:.1f} ms, max {times[-1]:.1f} ms")
