#!/usr/bin/env python3
"""Server benchmarks against a release build of ecsd (see scripts/bench-servers.sh).

1. Create->ACTIVE throughput, zero simulator latency: one request with
   min_count=max_count=N, then N single requests at concurrency 32. The
   baseline is the same client doing N `GET /` at concurrency 32 in the same run.
2. GET /v2.1/servers/{id} and /v2.1/servers/detail?limit=100 with STORED
   servers stored, measured with wrk at concurrency 1 and 32 next to GET /.
3. Resize round trips: RESIZES servers resized (to VERIFY_RESIZE) and
   confirmed, requests at concurrency 32, against the same baseline.
   ECS-native create: one `POST /v1.1/{project}/cloudservers` with
   count=ECS_COUNT (each server a system disk and a NIC on the seeded
   subnet) until its job is SUCCESS, against the same baseline.
4. Resident memory of ecsd with RSS_SERVERS servers stored.
"""

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench_common import BASE, call, login

PID = int(os.environ["ECSD_PID"])
N = int(os.environ.get("N", "1000"))
STORED = int(os.environ.get("STORED", "10000"))
RSS_SERVERS = int(os.environ.get("RSS_SERVERS", "100000"))
DURATION = os.environ.get("DURATION", "5")
RESIZES = int(os.environ.get("RESIZES", "200"))
ECS_COUNT = int(os.environ.get("ECS_COUNT", "200"))


TOKEN, PROJECT = login()
IMAGE = call("GET", "/v2.1/images", token=TOKEN, version="2.1")[2]["images"][0]["id"]


def body(name, count=1):
    return {"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": IMAGE, "networks": "none",
                       "min_count": count, "max_count": count, "return_reservation_id": True}}


def building():
    """Servers not yet ACTIVE (or ERROR)."""
    _, _, b = call("GET", "/v2.1/servers?status=BUILD&limit=1", token=TOKEN)
    return len(b["servers"])


def wait_all_built():
    while building():
        time.sleep(0.02)


def stored():
    _, _, b = call("GET", "/v2.1/servers?limit=1000", token=TOKEN)
    return b


def rss_mb():
    with open(f"/proc/{PID}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def timed_parallel(n, fn, conc=32):
    start = time.perf_counter()
    with ThreadPoolExecutor(conc) as pool:
        list(pool.map(fn, range(n)))
    return time.perf_counter() - start


def wrk(conns, path):
    threads = "2" if conns > 1 else "1"
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{DURATION}s", "--latency",
                          "-H", f"X-Auth-Token: {TOKEN}", BASE + path], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+(\S+)", out).group(1)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    if "Non-2xx" in out:
        sys.exit(f"non-2xx responses for {path}:\n{out}")
    return rps, p50, p99


print(f"== create -> ACTIVE, {N} servers, zero simulator latency ==")
baseline = timed_parallel(N, lambda i: call("GET", "/"))
print(f"baseline: {N} x GET / at c=32 from this client: {N / baseline:8.0f} req/s")
t0 = time.perf_counter()
call("POST", "/v2.1/servers", body("batch", N), token=TOKEN)
wait_all_built()
batch = time.perf_counter() - t0
print(f"one request, min_count={N}:       {N / batch:8.0f} servers/s  ({batch:.2f} s, {baseline / batch:.2f} x baseline rate)")

def wait_none(status):
    while call("GET", f"/v2.1/servers?status={status}&limit=1", token=TOKEN)[2]["servers"]:
        time.sleep(0.02)


def action(server_id, body):
    call("POST", f"/v2.1/servers/{server_id}/action", body, token=TOKEN)


ids = [s["id"] for s in call("GET", f"/v2.1/servers?name=batch&limit={RESIZES}", token=TOKEN)[2]["servers"]]
t0 = time.perf_counter()
timed_parallel(len(ids), lambda i: action(ids[i], {"resize": {"flavorRef": "m1.small"}}))
wait_none("RESIZE")
resized = time.perf_counter() - t0
timed_parallel(len(ids), lambda i: action(ids[i], {"confirmResize": None}))
wait_none("VERIFY_RESIZE")
confirmed = time.perf_counter() - t0
print(f"{len(ids)} resizes to VERIFY_RESIZE:     {len(ids) / resized:8.0f} servers/s  ({resized:.2f} s, "
      f"{baseline / resized * len(ids) / N:.2f} x baseline rate); with confirm: {len(ids) / confirmed:.0f} servers/s")

if ECS_COUNT:
    subnet = call("GET", "/networking/v2.0/subnets", token=TOKEN)[2]["subnets"][0]
    ecs = {"server": {"name": "ecs", "imageRef": IMAGE, "flavorRef": "m1.tiny", "vpcid": subnet["network_id"],
                      "nics": [{"subnet_id": subnet["id"]}], "root_volume": {"volumetype": "SSD"},
                      "count": ECS_COUNT}}
    t0 = time.perf_counter()
    job = call("POST", f"/v1.1/{PROJECT}/cloudservers", ecs, token=TOKEN)[2]["job_id"]
    while (state := call("GET", f"/v1/{PROJECT}/jobs/{job}", token=TOKEN)[2]["status"]) not in ("SUCCESS", "FAIL"):
        time.sleep(0.05)
    took = time.perf_counter() - t0
    print(f"ECS create, count={ECS_COUNT} ({state}): {ECS_COUNT / took:8.0f} servers/s  ({took:.2f} s, "
          f"{baseline / took * ECS_COUNT / N:.2f} x baseline rate)")

# Single requests come from wrk (a Lua script stops each of its 2 threads
# after N/2 answers): a Python client would eat the CPU it measures.
script = f"""
wrk.method = "POST"
wrk.body = '{json.dumps(body("single"))}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Auth-Token"] = "{TOKEN}"
wrk.headers["OpenStack-API-Version"] = "compute 2.37"
local answered = 0
function response(status, headers, body)
  answered = answered + 1
  if answered >= {N // 2} then wrk.thread:stop() end
end
"""
with open("/tmp/ecsd-bench-create.lua", "w") as f:
    f.write(script)
def used():
    return call("GET", "/v2.1/limits", token=TOKEN)[2]["limits"]["absolute"]["totalInstancesUsed"]


before = used()
t0 = time.perf_counter()
wrk_proc = subprocess.Popen(["wrk", "-t2", "-c32", "-d60s", "-s", "/tmp/ecsd-bench-create.lua", BASE + "/v2.1/servers"],
                            stdout=subprocess.PIPE, text=True)
# wrk's main thread sleeps the whole duration; stop it once the creates are in.
while used() - before < N:
    time.sleep(0.02)
answered = time.perf_counter() - t0
wrk_proc.terminate()
wrk_proc.wait()
wait_all_built()
single = time.perf_counter() - t0
sent = used() - before
print(f"{sent} single requests (wrk, c=32): {sent / single:8.0f} servers/s  ({single:.2f} s, "
      f"{baseline / single * sent / N:.2f} x baseline rate; all answered after {answered:.2f} s)")

have = N + sent
while have < STORED:
    count = min(1000, STORED - have)
    call("POST", "/v2.1/servers", body("fill", count), token=TOKEN)
    have += count
wait_all_built()
one = stored()["servers"][0]["id"]
print(f"\n== reads with {have} servers stored (wrk, {DURATION} s each) ==")
print(f"{'endpoint':40} {'conc':>4} {'req/s':>10} {'p50':>9} {'p99':>9} {'vs GET /':>8}")
for conns in (1, 32):
    bare, p50, p99 = wrk(conns, "/")
    print(f"{'GET / (bare)':40} {conns:>4} {bare:>10.0f} {p50:>9} {p99:>9} {1:>8.2f}")
    for name, path in (("GET /v2.1/servers/{id}", f"/v2.1/servers/{one}"),
                       ("GET /v2.1/servers/detail?limit=100", "/v2.1/servers/detail?limit=100")):
        rps, p50, p99 = wrk(conns, path)
        print(f"{name:40} {conns:>4} {rps:>10.0f} {p50:>9} {p99:>9} {rps / bare:>8.2f}")

print(f"\nresident memory with {have} servers: {rss_mb():.0f} MB")
if RSS_SERVERS > have:
    while have < RSS_SERVERS:
        count = min(1000, RSS_SERVERS - have)
        call("POST", "/v2.1/servers", body("fill", count), token=TOKEN)
        have += count
        if have % 10000 == 0:
            wait_all_built()
    wait_all_built()
    print(f"resident memory with {have} servers: {rss_mb():.0f} MB")
