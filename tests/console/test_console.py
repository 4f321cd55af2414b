"""The web console end to end, in headless Chromium (Debian's chromium,
driven by Playwright): log in, create a server, watch it turn ACTIVE,
follow its console log, open its VNC console (the RFB handshake with the
guest's VNC server through ecsd's proxy), stop it, delete it; a wrong
password and an invalid token; API errors as the API words them; the
admin pages. Run by scripts/console-tests.sh against a fresh ecsd
(ECSD_ENDPOINT); screenshots go to CONSOLE_SCREENSHOTS."""

import json
import os
import re
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect, sync_playwright

ENDPOINT = os.environ["ECSD_ENDPOINT"].rstrip("/")
CONSOLE = f"{ENDPOINT}/console/"
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS", "target/console-screenshots")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# A server goes ACTIVE in seconds on the simulator; QEMU takes longer.
SLOW = 90_000


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


def call(method, path, body=None, token=None, headers=None):
    """A direct API call: (status, headers, JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{ENDPOINT}{path}", data=data, method=method, headers=headers or {})
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req) as r:
            text = r.read()
            return r.status, r.headers, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, e.headers, json.loads(text) if text else None


def password_auth(user, password, project=None):
    auth = {"identity": {"methods": ["password"],
                         "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}}}
    if project:
        auth["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
    return call("POST", "/identity/v3/auth/tokens", {"auth": auth})


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def log_in(page, user, password, project=""):
    page.goto(CONSOLE)
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", password)
    page.fill("input[name=project]", project)
    page.click("button[type=submit]")
    expect(page.locator("#rows[data-loaded]")).to_be_attached()


def test_static_files_and_404():
    for path, kind in [("/console/", "text/html"), ("/console/app.css", "text/css"),
                       ("/console/js/app.js", "text/javascript"),
                       ("/console/vendor/novnc/core/rfb.js", "text/javascript")]:
        with urllib.request.urlopen(f"{ENDPOINT}{path}") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith(kind), path
    status, _, body = call("GET", "/console/no-such-page.html")
    assert status == 404 and body["error"]["code"] == 404


def test_wrong_password_shows_the_apis_message(page):
    status, _, body = password_auth("demo", "wrong")
    assert status == 401
    page.goto(CONSOLE)
    expect(page.locator("#login")).to_be_visible()
    page.fill("input[name=user]", "demo")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator("#out .error")).to_have_text(body["error"]["message"])
    shot(page, "login-refused")


def test_invalid_token_returns_to_login(page):
    log_in(page, "demo", "demo")
    # Another token than the one issued: every call now answers 401.
    page.evaluate("""() => {
        const s = JSON.parse(sessionStorage.getItem('ecsd.session'));
        s.token = 'gAAAAABnot-a-real-token';
        sessionStorage.setItem('ecsd.session', JSON.stringify(s));
    }""")
    expect(page.locator("#login")).to_be_visible(timeout=10_000)
    expect(page.locator("#out .error")).to_contain_text("Log in again")
    expect(page.locator("#top")).to_be_hidden()


def test_revoked_token_returns_to_login(page):
    log_in(page, "demo", "demo")
    token = page.evaluate("() => JSON.parse(sessionStorage.getItem('ecsd.session')).token")
    status, _, _ = call("DELETE", "/identity/v3/auth/tokens", token=token, headers={"X-Subject-Token": token})
    assert status == 204, status
    page.goto(f"{CONSOLE}#/volumes")
    expect(page.locator("#login")).to_be_visible(timeout=10_000)


def test_server_lifecycle(page):
    log_in(page, "demo", "demo")
    name = f"console-e2e-{int(time.time())}"
    page.click("text=Create servers")
    page.fill("input[name=name]", name)
    tiny = page.locator("select[name=flavor] option", has_text="m1.tiny").get_attribute("value")
    page.select_option("select[name=flavor]", value=tiny)
    page.click("button[type=submit]")
    # Created: the server's page, which follows its status by itself.
    expect(page.locator("#title")).to_contain_text(name)
    expect(page.locator("#title .badge")).to_have_text("ACTIVE", timeout=SLOW)
    server_url = page.url

    # The list shows it ACTIVE without a reload.
    page.click("#nav >> text=Servers")
    row = page.locator("#rows tr", has_text=name)
    expect(row.locator(".badge")).to_have_text("ACTIVE")
    shot(page, "servers")

    # Its console log follows live.
    page.goto(server_url)
    expect(page.locator("#log")).not_to_be_empty(timeout=SLOW)
    shot(page, "server-detail")

    # The VNC console: noVNC (vendored) through ecsd's proxy to the
    # guest's VNC server; "connect" fires once the RFB handshake is done.
    page.click("text=VNC console")
    expect(page.locator("#vnc-status")).to_have_attribute("data-state", "connected", timeout=30_000)
    expect(page.locator("#vnc-status")).to_contain_text("RFB handshake done")
    expect(page.locator("#screen canvas")).to_be_attached()
    shot(page, "vnc")
    # The proxy's own page (the URL Nova hands out) loads the same noVNC.
    proxy_page = page.locator("#vnc-link a").get_attribute("href")
    other = page.context.new_page()
    other.goto(proxy_page)
    expect(other.locator("#status")).to_have_text("Connected", timeout=30_000)
    other.close()

    # Stop (an ECS job), and the job with its sub-job on the Jobs page.
    page.goto(server_url)
    expect(page.locator("button[data-do=stop]")).to_be_enabled()
    page.click("button[data-do=stop]")
    expect(page.locator("#title .badge")).to_have_text("SHUTOFF", timeout=SLOW)
    page.click("#nav >> text=Jobs")
    job = page.locator("#list h2", has_text=f"stop {name}")
    expect(job.locator(".badge")).to_have_text("SUCCESS", timeout=30_000)
    expect(page.locator("#list table").first).to_contain_text(re.compile("SUCCESS"))

    # Delete: two clicks, then gone from the list.
    page.goto(server_url)
    expect(page.locator("button[data-do=delete]")).to_be_enabled()
    page.click("button[data-do=delete]")
    expect(page.locator("button[data-do=delete]")).to_have_text("Really delete?")
    page.click("button[data-do=delete]")
    expect(page).to_have_url(re.compile(r"#/servers$"))
    expect(page.locator("#rows tr", has_text=name)).to_have_count(0, timeout=SLOW)


def test_api_errors_are_shown_as_worded(page):
    log_in(page, "demo", "demo")
    page.click("text=Create servers")
    page.fill("input[name=count]", "500")
    page.click("button[type=submit]")
    error = page.locator("#out .error")
    expect(error).to_contain_text("Quota exceeded")
    shot(page, "create-refused")


def test_admin_pages_and_project_switch(page):
    # Give admin a role on demo too: the switcher then offers both.
    _, headers, body = password_auth("admin", "admin", "admin")
    token = headers["X-Subject-Token"]
    _, _, projects = call("GET", "/identity/v3/projects?name=demo", token=token)
    _, _, roles = call("GET", "/identity/v3/roles?name=member", token=token)
    demo = projects["projects"][0]["id"]
    member = roles["roles"][0]["id"] if roles["roles"] else None
    if member:
        status, _, _ = call("PUT", f"/identity/v3/projects/{demo}/users/{body['token']['user']['id']}/roles/{member}",
                            token=token)
        assert status in (200, 204), status

    log_in(page, "admin", "admin", "admin")
    page.click("#nav >> text=Hosts")
    expect(page.locator("#list tbody tr").first).to_contain_text("up")
    expect(page.locator("#list .bar").first).to_be_visible()
    shot(page, "hosts")

    page.click("#nav >> text=Simulator")
    doc = page.locator("textarea[name=doc]")
    expect(doc).to_contain_text("hosts_down")
    doc.fill('{"latency_ms": {}, "faults": [], "hosts_down": 7}')
    page.click("button[type=submit]")
    expect(page.locator("#out .error")).to_contain_text("Invalid simulator settings")
    doc.fill('{"latency_ms": {}, "faults": [], "hosts_down": []}')
    page.click("button[type=submit]")
    expect(page.locator("#out")).to_contain_text("Saved")

    page.click("#nav >> text=Quotas")
    expect(page.locator("main .bar").first).to_be_visible()

    if member:
        page.select_option("#project", label="demo")
        expect(page.locator("#rows[data-loaded]")).to_be_attached()
        page.click("#nav >> text=Quotas")
        expect(page.locator("main h1")).to_contain_text("project demo")


QEMU = os.environ.get("ECSD_QEMU_ENDPOINT", "").rstrip("/")


@pytest.mark.skipif(not QEMU, reason="no ecsd with QEMU guests (scripts/console-tests.sh starts one when QEMU is here)")
def test_qemu_guest_vnc(page):
    """A real QEMU guest (the tiny guest) through the console: ACTIVE, its
    serial console log, its VNC console's RFB handshake (QEMU's own VNC
    server through the proxy), deleted."""
    page.goto(f"{QEMU}/console/")
    page.fill("input[name=user]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    expect(page.locator("#rows[data-loaded]")).to_be_attached()
    page.click("text=Create servers")
    page.fill("input[name=name]", "qemu-vnc")
    tiny = page.locator("select[name=flavor] option", has_text="m1.tiny").get_attribute("value")
    page.select_option("select[name=flavor]", value=tiny)
    image = page.locator("select[name=image] option", has_text="tiny").get_attribute("value")
    page.select_option("select[name=image]", value=image)
    page.click("button[type=submit]")
    expect(page.locator("#title .badge")).to_have_text("ACTIVE", timeout=180_000)
    server_url = page.url
    expect(page.locator("#log")).to_contain_text("ECSD-GUEST-READY", timeout=180_000)
    page.click("text=VNC console")
    expect(page.locator("#vnc-status")).to_have_attribute("data-state", "connected", timeout=60_000)
    expect(page.locator("#vnc-status")).to_contain_text("RFB handshake done")
    shot(page, "vnc-qemu")
    page.goto(server_url)
    expect(page.locator("button[data-do=delete]")).to_be_enabled()
    page.click("button[data-do=delete]")
    page.click("button[data-do=delete]")
    expect(page.locator("#rows tr", has_text="qemu-vnc")).to_have_count(0, timeout=120_000)
