#!/usr/bin/env python3
"""ECS create next to Nova create (see scripts/bench-ecs-create.sh).

Each round, in the same ecsd:
1. Nova: one `POST /v2.1/servers` with min_count=max_count=N (m1.tiny, no
   network, as scripts/bench-servers.py), until no server is BUILD; then
   the same with a NIC each on the seeded network.
2. ECS: one `POST /v1.1/{project}/cloudservers` with count=N, each server a
   system disk (root_volume), a 10 GB data disk (data_volumes), a NIC on the
   seeded subnet and a new EIP (publicip.eip, deleted with the server),
   until its job is SUCCESS.
Each create's servers are deleted before the next (ECS's with their EIPs
and disks): every create starts from the same store, and the seeded /24s
(the subnet, the EIP pool) suffice.
Prints servers/s for both and the ratio ECS/Nova, per round and the median.
"""

import os
import statistics
import time

from bench_common import call, login

N = int(os.environ.get("N", "200"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))


TOKEN, PROJECT = login()
IMAGE = call("GET", "/v2.1/images", token=TOKEN, version="2.1")[2]["images"][0]["id"]
# Every EIP of a round at once: lift Neutron's floating IP quota.
call("PUT", f"/networking/v2.0/quotas/{PROJECT}", {"quota": {"floatingip": -1}}, token=TOKEN)
SUBNET = next(s for s in call("GET", "/networking/v2.0/subnets", token=TOKEN)[2]["subnets"]
              if s["name"] != "public-subnet")


def servers(query):
    return call("GET", f"/v2.1/servers?{query}", token=TOKEN)[2]["servers"]


def wait_job(job):
    while (state := call("GET", f"/v1/{PROJECT}/jobs/{job}", token=TOKEN)[2])["status"] not in ("SUCCESS", "FAIL"):
        time.sleep(0.05)
    return state


def nova_round(networks="none"):
    body = {"server": {"name": "nova", "flavorRef": "m1.tiny", "imageRef": IMAGE, "networks": networks,
                       "min_count": N, "max_count": N, "return_reservation_id": True}}
    t0 = time.perf_counter()
    call("POST", "/v2.1/servers", body, token=TOKEN)
    while servers("status=BUILD&limit=1"):
        time.sleep(0.02)
    return time.perf_counter() - t0


def ecs_round():
    body = {"server": {"name": "ecs", "imageRef": IMAGE, "flavorRef": "m1.tiny", "vpcid": SUBNET["network_id"],
                       "nics": [{"subnet_id": SUBNET["id"]}],
                       "root_volume": {"volumetype": "SSD"},
                       "data_volumes": [{"volumetype": "SSD", "size": 10}],
                       "publicip": {"eip": {"iptype": "5_bgp",
                                            "bandwidth": {"size": 5, "sharetype": "PER", "chargemode": "traffic"}},
                                    "delete_on_termination": True},
                       "count": N}}
    t0 = time.perf_counter()
    job = call("POST", f"/v1.1/{PROJECT}/cloudservers", body, token=TOKEN)[2]["job_id"]
    state = wait_job(job)
    took = time.perf_counter() - t0
    if state["status"] != "SUCCESS":
        raise SystemExit(f"ECS create job failed: {state.get('fail_reason')}")
    return took


def clean():
    ids = [s["id"] for s in servers("limit=1000")]
    for at in range(0, len(ids), 1000):
        batch = [{"id": i} for i in ids[at:at + 1000]]
        job = call("POST", f"/v1/{PROJECT}/cloudservers/delete",
                   {"servers": batch, "delete_publicip": True, "delete_volume": True}, token=TOKEN)[2]["job_id"]
        wait_job(job)
    while servers("limit=1"):
        time.sleep(0.05)


print(f"== create of {N} servers: Nova (to ACTIVE; no NIC, then a NIC each) and ECS v1.1 "
      f"(system + data disk, NIC, EIP; to job SUCCESS) ==")
rates = {"nova": [], "nova_nic": [], "ecs": []}
for r in range(ROUNDS):
    # Each create starts from an empty project (the seeded subnet is a /24).
    nova = nova_round()
    clean()
    nova_nic = nova_round([{"uuid": SUBNET["network_id"]}])
    clean()
    ecs = ecs_round()
    for key, took in (("nova", nova), ("nova_nic", nova_nic), ("ecs", ecs)):
        rates[key].append(N / took)
    print(f"round {r + 1}: Nova {N / nova:6.0f}/s ({nova:.2f} s)  Nova+NIC {N / nova_nic:6.0f}/s ({nova_nic:.2f} s)  "
          f"ECS {N / ecs:6.0f}/s ({ecs:.2f} s)  ECS/Nova {nova / ecs:.2f}  ECS/Nova+NIC {nova_nic / ecs:.2f}")
    clean()
m = {k: statistics.median(v) for k, v in rates.items()}
print(f"median servers/s: Nova {m['nova']:.0f}  Nova+NIC {m['nova_nic']:.0f}  ECS {m['ecs']:.0f}  "
      f"ECS/Nova {m['ecs'] / m['nova']:.2f}  ECS/Nova+NIC {m['ecs'] / m['nova_nic']:.2f}")
