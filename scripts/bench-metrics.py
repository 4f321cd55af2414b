#!/usr/bin/env python3
"""The cost of /metrics instrumentation (see scripts/bench-metrics.sh).

Two ecsd side by side, metrics on (BASE_ON) and off (BASE_OFF), each with
STORED servers. wrk measures GET /v2.1/servers/{id} on each in turn, ROUNDS
times, at concurrency 1 and 32; the medians and their ratio (on / off) are
printed, and the scrape itself (GET /metrics) is timed on the one with
metrics on.
"""

import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

import bench_common
from bench_common import call, login

BASE_ON = os.environ["BASE_ON"]
BASE_OFF = os.environ["BASE_OFF"]
STORED = int(os.environ.get("STORED", "1000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = os.environ.get("DURATION", "5")


def prepare(base):
    """Logs in and stores STORED servers; returns (token, one server's id)."""
    bench_common.BASE = base
    token, _ = login()
    image = call("GET", "/v2.1/images", token=token, version="2.1")[2]["images"][0]["id"]
    have = 0
    while have < STORED:
        count = min(1000, STORED - have)
        body = {"server": {"name": "m", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none",
                           "min_count": count, "max_count": count}}
        call("POST", "/v2.1/servers", body, token=token)
        have += count
    while call("GET", "/v2.1/servers?status=BUILD&limit=1", token=token)[2]["servers"]:
        time.sleep(0.2)
    one = call("GET", "/v2.1/servers?limit=1", token=token)[2]["servers"][0]["id"]
    return token, one


def wrk(base, token, conns, path):
    threads = "2" if conns > 1 else "1"
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{DURATION}s",
                          "-H", f"X-Auth-Token: {token}", base + path], capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        sys.exit(f"non-2xx responses for {base}{path}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


on = prepare(BASE_ON)
off = prepare(BASE_OFF)
print(f"== GET /v2.1/servers/{{id}} with {STORED} servers stored: metrics on vs off "
      f"({ROUNDS} rounds of {DURATION} s, alternating) ==")
print(f"{'conc':>4} {'on req/s':>10} {'off req/s':>10} {'on/off':>7}")
for conns in (1, 32):
    rates = {"on": [], "off": []}
    for _ in range(ROUNDS):
        for name, base, (token, one) in (("on", BASE_ON, on), ("off", BASE_OFF, off)):
            rates[name].append(wrk(base, token, conns, f"/v2.1/servers/{one}"))
    r_on, r_off = statistics.median(rates["on"]), statistics.median(rates["off"])
    print(f"{conns:>4} {r_on:>10.0f} {r_off:>10.0f} {r_on / r_off:>7.3f}")

# What one scrape costs (the database's gauges are read at each).
start = time.perf_counter()
for _ in range(20):
    with urllib.request.urlopen(BASE_ON + "/metrics") as r:
        r.read()
print(f"\nGET /metrics: {(time.perf_counter() - start) / 20 * 1000:.1f} ms per scrape")
off_status = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", BASE_OFF + "/metrics"],
                            capture_output=True, text=True).stdout
print(f"GET /metrics with --metrics off: {off_status}")
