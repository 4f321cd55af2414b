"""The servers list's load time with many servers (scripts/bench-console.sh):
creates N servers through Nova, then loads /console/#/servers in headless
Chromium and reads Chromium's navigation timing and the console's
`ecsd:servers-rendered` mark (set when the table is first drawn)."""

import json
import os
import statistics
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

ENDPOINT = os.environ["ECSD_ENDPOINT"].rstrip("/")
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS", "target/console-screenshots")
RUNS = 5


def call(method, path, body=None, token=None, version="2.79"):
    req = urllib.request.Request(f"{ENDPOINT}{path}", data=json.dumps(body).encode() if body is not None else None,
                                 method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("OpenStack-API-Version", f"compute {version}")
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return r.headers, json.loads(text) if text else None


def main():
    count = int(sys.argv[1])
    auth = {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"},
                                                                          "password": "admin"}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}
    headers, _ = call("POST", "/identity/v3/auth/tokens", {"auth": auth})
    token = headers["X-Subject-Token"]
    _, images = call("GET", "/image/v2/images", token=token)
    image = next(i["id"] for i in images["images"] if i["name"].startswith("cirros"))

    started = time.monotonic()
    made = 0
    # No NIC: the seeded /24 has addresses for only some 250 servers.
    while made < count:
        n = min(100, count - made)
        call("POST", "/v2.1/servers", {"server": {"name": f"bench-{made:04d}", "flavorRef": "m1.tiny",
                                                  "imageRef": image, "networks": "none",
                                                  "min_count": n, "max_count": n}}, token=token)
        made += n
    while True:
        _, body = call("GET", f"/v2.1/servers/detail?limit={count}", token=token)
        active = sum(s["status"] == "ACTIVE" for s in body["servers"])
        building = sum(s["status"] == "BUILD" for s in body["servers"])
        if not building or time.monotonic() - started > 900:
            break
        time.sleep(2)
    print(f"{count} servers created, {active} ACTIVE, in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    call("GET", f"/v2.1/servers/detail?limit={count}", token=token)
    print(f"GET /v2.1/servers/detail?limit={count} from Python: {(time.monotonic() - started) * 1000:.0f} ms")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.goto(f"{ENDPOINT}/console/")
        page.fill("input[name=user]", "admin")
        page.fill("input[name=password]", "admin")
        page.fill("input[name=project]", "admin")
        page.click("button[type=submit]")
        page.wait_for_selector("#rows[data-loaded]")
        for limit in (100, count):
            loads, rendered, api = [], [], []
            for _ in range(RUNS + 1):
                page.goto("about:blank")
                page.goto(f"{ENDPOINT}/console/#/servers?limit={limit}")
                page.wait_for_selector("#rows[data-loaded]")
                timing = page.evaluate("""() => {
                    const nav = performance.getEntriesByType('navigation')[0];
                    const drawn = performance.getEntriesByName('ecsd:servers-rendered')[0];
                    const list = performance.getEntriesByType('resource').find(r => r.name.includes('/servers/detail'));
                    return {load: nav.loadEventEnd, drawn: drawn.startTime, api: list ? list.duration : null,
                            rows: document.querySelectorAll('#rows tr').length};
                }""")
                assert timing["rows"] == min(limit, count), timing
                loads.append(timing["load"])
                rendered.append(timing["drawn"])
                api.append(timing["api"])
            # The first run warms the caches; the median of the rest.
            med = lambda xs: statistics.median(xs[1:])  # noqa: E731
            print(f"servers list, {min(limit, count)} rows of {count}: navigation load event {med(loads):.0f} ms, "
                  f"table drawn {med(rendered):.0f} ms after navigation start "
                  f"(its GET /servers/detail {med(api):.0f} ms) — median of {RUNS}")
        os.makedirs(SHOTS, exist_ok=True)
        page.goto(f"{ENDPOINT}/console/#/servers?limit=20")
        page.wait_for_selector("#rows[data-loaded]")
        page.screenshot(path=os.path.join(SHOTS, "bench-servers.png"))
        page.goto(f"{ENDPOINT}/console/#/hosts")
        page.wait_for_selector("#list .bar")
        page.screenshot(path=os.path.join(SHOTS, "bench-hosts.png"))
        page.goto(f"{ENDPOINT}/console/#/quotas")
        page.wait_for_selector("main .bar")
        page.screenshot(path=os.path.join(SHOTS, "bench-quotas.png"))
        browser.close()


main()
