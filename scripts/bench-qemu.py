#!/usr/bin/env python3
"""Real-guest benchmark against `ecsd serve --hypervisor qemu` (see scripts/bench-qemu.sh).

1. RUNS times, one at a time: `POST /v2.1/servers` of the tiny guest
   (m1.tiny, one NIC), the time to ACTIVE and to the guest's console
   marker (read through os-getConsoleOutput), then delete. The baseline,
   measured in the same run: the same kernel and initramfs booted RUNS
   times by a bare `qemu-system-x86_64 -M microvm` with a config drive,
   to the same marker on its serial console.
2. For each N in CONCURRENT: N servers created at once, the time until
   every one of them shows the marker.
Medians; ratios are ecsd over the bare boot.
"""

import base64
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BASE = os.environ["BASE"]
GUEST = os.environ["GUEST"]
RUNS = int(os.environ.get("RUNS", "10"))
CONCURRENT = [int(n) for n in os.environ.get("CONCURRENT", "1 2 4 8").split()]
MARKER = "ECSD-GUEST-READY"


def call(method, path, body=None, token=None, version="2.37"):
    req = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    req.add_header("OpenStack-API-Version", f"compute {version}")
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req) as r:
        return r.status, r.headers, json.loads(r.read() or b"null")


auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
        "domain": {"name": "Default"}, "password": "admin"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
_, headers, _ = call("POST", "/identity/v3/auth/tokens", auth)
TOKEN = headers["X-Subject-Token"]
IMAGE = call("GET", "/image/v2/images?name=tiny", token=TOKEN)[2]["images"][0]["id"]
NETWORK = next(n["id"] for n in call("GET", "/networking/v2.0/networks", token=TOKEN)[2]["networks"]
               if not n.get("router:external"))


def create(name):
    body = {"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": IMAGE,
                       "networks": [{"uuid": NETWORK}],
                       "user_data": base64.b64encode(b"bench").decode()}}
    return call("POST", "/v2.1/servers", body, TOKEN)[2]["server"]["id"]


def status(sid):
    return call("GET", f"/v2.1/servers/{sid}", token=TOKEN)[2]["server"]["status"]


def console(sid):
    return call("POST", f"/v2.1/servers/{sid}/action", {"os-getConsoleOutput": {}}, TOKEN)[2]["output"]


def wait(pred, timeout=300):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.05)


def delete(sid):
    call("DELETE", f"/v2.1/servers/{sid}", token=TOKEN)
    def gone():
        try:
            status(sid)
            return False
        except urllib.error.HTTPError as e:
            return e.code == 404
    wait(gone)


def one_server(i):
    t0 = time.monotonic()
    sid = create(f"bench-{i}")
    wait(lambda: status(sid) == "ACTIVE")
    active = time.monotonic() - t0
    wait(lambda: MARKER in console(sid))
    marker = time.monotonic() - t0
    delete(sid)
    return active, marker


def bare_boot():
    """The same guest under a bare QEMU, as the driver would start it, minus ecsd."""
    with tempfile.TemporaryDirectory() as d:
        drive = os.path.join(d, "cd")
        os.makedirs(os.path.join(drive, "openstack/latest"))
        with open(os.path.join(drive, "openstack/latest/meta_data.json"), "w") as f:
            json.dump({"uuid": "bare", "hostname": "bare"}, f)
        iso, log = os.path.join(d, "config.iso"), os.path.join(d, "console.log")
        subprocess.run(["genisoimage", "-quiet", "-o", iso, "-V", "config-2", "-J", "-r", drive], check=True)
        khz = next(float(l.split(":")[1]) for l in open("/proc/cpuinfo") if l.startswith("cpu MHz")) * 1000
        t0 = time.monotonic()
        qemu = subprocess.Popen([
            "qemu-system-x86_64", "-machine", "microvm,pcie=on,rtc=on", "-accel", "tcg", "-cpu", "max",
            "-m", "512", "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
            "-chardev", f"file,id=s,path={log}", "-serial", "chardev:s",
            "-kernel", f"{GUEST}/vmlinux", "-initrd", f"{GUEST}/initrd.img",
            "-append", f"console=ttyS0 panic=-1 tsc_early_khz={int(khz)}",
            "-blockdev", f"driver=raw,node-name=c,file.driver=file,file.filename={iso},read-only=on,file.read-only=on",
            "-device", "virtio-blk-pci,drive=c"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait(lambda: os.path.exists(log) and MARKER in open(log, errors="replace").read())
            return time.monotonic() - t0
        finally:
            qemu.kill()
            qemu.wait()


def main():
    bare = [bare_boot() for _ in range(RUNS)]
    runs = [one_server(i) for i in range(RUNS)]
    bare_median = statistics.median(bare)
    active = statistics.median(r[0] for r in runs)
    marker = statistics.median(r[1] for r in runs)
    print(f"bare microvm boot to marker (baseline): median {bare_median:.2f} s over {RUNS} "
          f"(min {min(bare):.2f}, max {max(bare):.2f})")
    print(f"POST /servers -> ACTIVE:  median {active:.2f} s")
    print(f"POST /servers -> marker:  median {marker:.2f} s ({marker / bare_median:.2f}x the bare boot; "
          f"min {min(r[1] for r in runs):.2f}, max {max(r[1] for r in runs):.2f})")
    for n in CONCURRENT:
        t0 = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            ids = list(pool.map(create, [f"conc-{n}-{i}" for i in range(n)]))
            try:
                list(pool.map(lambda s: wait(lambda: status(s) == "ACTIVE"), ids))
                list(pool.map(lambda s: wait(lambda: MARKER in console(s), timeout=600), ids))
                took = time.monotonic() - t0
                print(f"{n} guests created at once: all at the marker after {took:.2f} s "
                      f"({took / bare_median:.2f}x one bare boot)")
            except TimeoutError:
                print(f"{n} guests created at once: not all reached the marker within 600 s")
            list(pool.map(delete, ids))


main()
