// The console's pages. Each draws into ctx.main from ecsd's public APIs
// (Nova, Cinder, Neutron, Glance, ECS) and polls with ctx.every; lists
// are drawn with one innerHTML, and only when what they show changed.

import { api, get, post, put, del, login, session, jobs, rememberJob, SessionEnded } from "./api.js";

/// HTML-escapes anything shown.
export function h(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const badge = (s) => `<span class="badge s-${h(s)}">${h(s)}</span>`;
const POWER = { 0: "NOSTATE", 1: "Running", 3: "Paused", 4: "Shutdown", 6: "Crashed", 7: "Suspended" };
const when = (t) => (t ? h(String(t).replace("T", " ").replace(/\.\d+/, "").replace(/(Z|\+00:00)$/, "")) : "");
const gib = (bytes) => (bytes == null ? "" : `${(bytes / 2 ** 30).toFixed(2)} GiB`);

function bar(used, limit, unit = "") {
  if (limit == null || limit < 0) return `<span class="muted">${h(used)}${unit} used, unlimited</span>`;
  const pct = limit === 0 ? 100 : Math.min(100, Math.round((used / limit) * 100));
  return `<span class="bar${pct >= 90 ? " high" : ""}" title="${pct}%"><span style="width:${pct}%"></span></span> ${h(used)} / ${h(limit)}${unit}`;
}

function errorBox(e) {
  return `<div class="error">${h(e.message ?? String(e))}</div>`;
}

/// Sets `el.innerHTML` only when the markup changed (a poll that finds
/// nothing new costs no layout).
function draw(el, html) {
  if (el && el.__html !== html) {
    el.innerHTML = html;
    el.__html = html;
  }
}

/// A form's submit: its button disabled while it runs, an API error
/// shown in `out` as the API worded it.
function onSubmit(form, out, fn) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    out.innerHTML = "";
    try {
      await fn(new FormData(form));
    } catch (e) {
      if (!(e instanceof SessionEnded)) out.innerHTML = errorBox(e);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

// ---- Log in -------------------------------------------------------------

export function loginPage(ctx) {
  const left = sessionStorage.getItem("ecsd.flash");
  sessionStorage.removeItem("ecsd.flash");
  ctx.flash("");
  ctx.main.innerHTML = `
    <form class="login" id="login">
      <h1>Log in to ecsd</h1>
      <div id="out">${left ? errorBox({ message: left }) : ""}</div>
      <label>User <input name="user" autocomplete="username" required autofocus></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <label>Project <input name="project" placeholder="the user's default"></label>
      <button class="primary" type="submit">Log in</button>
      <p class="muted">Domain: Default. Keystone credentials, as in the banner of <code>ecsd serve</code>.</p>
    </form>`;
  const form = document.getElementById("login");
  onSubmit(form, document.getElementById("out"), async (f) => {
    await login(f.get("user"), f.get("password"), f.get("project").trim());
    location.hash = "#/servers";
  });
}

// ---- Servers ------------------------------------------------------------

function ips(server) {
  return Object.values(server.addresses ?? {})
    .flat()
    .map((a) => a.addr)
    .join(", ");
}

function serverRow(s) {
  const task = s["OS-EXT-STS:task_state"];
  return `<tr><td><a href="#/servers/${h(s.id)}">${h(s.name)}</a></td><td>${badge(s.status)}${task ? ` <span class="muted">${h(task)}</span>` : ""}</td><td>${h(POWER[s["OS-EXT-STS:power_state"]] ?? "")}</td><td>${h(s.flavor?.original_name ?? s.flavor?.id ?? "")}</td><td>${h(ips(s))}</td><td>${h(s["OS-EXT-SRV-ATTR:host"] ?? "")}</td><td>${when(s.created)}</td></tr>`;
}

async function serversPage(ctx) {
  const limit = Number(ctx.query.get("limit")) || 100;
  const name = ctx.query.get("name") ?? "";
  // Markers of the pages before this one, for "Previous".
  const markers = (ctx.query.get("trail") ?? "").split(",").filter(Boolean);
  const marker = markers.at(-1);
  ctx.main.innerHTML = `
    <h1>Servers</h1>
    <div class="toolbar">
      <a class="button primary" href="#/servers/new">Create servers</a>
      <form id="filter" class="toolbar" style="margin:0">
        <input name="name" placeholder="Name (regex)" value="${h(name)}">
        <select name="limit">${[20, 100, 500, 1000].map((n) => `<option${n === limit ? " selected" : ""}>${n}</option>`).join("")}</select>
        <button type="submit">Filter</button>
      </form>
      <span class="muted" id="count"></span>
    </div>
    <table id="servers"><thead><tr><th>Name</th><th>Status</th><th>Power</th><th>Flavor</th><th>Addresses</th><th>Host</th><th>Created</th></tr></thead>
    <tbody id="rows"></tbody></table>
    <div class="pager" id="pager"></div>`;
  document.getElementById("filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    location.hash = `#/servers?${new URLSearchParams({ name: f.get("name"), limit: f.get("limit") })}`;
  });
  const rows = document.getElementById("rows");
  const count = document.getElementById("count");
  const pager = document.getElementById("pager");
  const link = (trail) => `#/servers?${new URLSearchParams({ name, limit, trail: trail.join(",") })}`;
  await ctx.every(async () => {
    const q = new URLSearchParams({ limit });
    if (marker) q.set("marker", marker);
    if (name) q.set("name", name);
    const data = await get(`/v2.1/servers/detail?${q}`);
    if (!ctx.live) return;
    const list = data.servers;
    draw(rows, list.length ? list.map(serverRow).join("") : `<tr><td colspan="7" class="muted">No servers.</td></tr>`);
    if (!rows.dataset.loaded) {
      rows.dataset.loaded = "1";
      // For scripts/bench-console.sh: when the first list was on screen.
      performance.mark("ecsd:servers-rendered");
    }
    const more = (data.servers_links ?? []).some((l) => l.rel === "next");
    const first = markers.length * limit + (list.length ? 1 : 0);
    count.textContent = `${first}–${markers.length * limit + list.length}${more ? "" : ` of ${markers.length * limit + list.length}`}`;
    draw(
      pager,
      (markers.length ? `<a class="button" href="${link(markers.slice(0, -1))}">Previous</a>` : "") +
        (more ? `<a class="button" href="${link([...markers, list.at(-1).id])}">Next</a>` : ""),
    );
  }, 2000);
}

async function createPage(ctx) {
  const [flavors, images, networks, keypairs, groups] = await Promise.all([
    get("/v2.1/flavors/detail"),
    get("/image/v2/images?limit=1000"),
    get("/networking/v2.0/networks"),
    get("/v2.1/os-keypairs"),
    get("/networking/v2.0/security-groups"),
  ]);
  const opts = (list, label, value = (x) => x.id) => list.map((x) => `<option value="${h(value(x))}">${h(label(x))}</option>`).join("");
  const usable = networks.networks.filter((n) => !n["router:external"]);
  // Smallest first: the default is the cheapest.
  flavors.flavors.sort((a, b) => a.vcpus - b.vcpus || a.ram - b.ram || a.disk - b.disk);
  ctx.main.innerHTML = `
    <h1>Create servers</h1>
    <form class="grid" id="create">
      <label for="c-name">Name</label><input id="c-name" name="name" required value="server-${Date.now().toString(36).slice(-4)}">
      <label for="c-flavor">Flavor</label><select id="c-flavor" name="flavor">${opts(flavors.flavors, (f) => `${f.name} (${f.vcpus} vCPU, ${f.ram} MiB, ${f.disk} GB)`)}</select>
      <label for="c-image">Image</label><select id="c-image" name="image">${opts(images.images, (i) => i.name ?? i.id)}</select>
      <label for="c-network">Network</label><select id="c-network" name="network">${opts(usable, (n) => n.name || n.id)}<option value="none">none</option></select>
      <label for="c-key">Key pair</label><select id="c-key" name="key"><option value="">none</option>${opts(keypairs.keypairs.map((k) => k.keypair), (k) => k.name, (k) => k.name)}</select>
      <label>Security groups</label><span>${groups.security_groups
        .map((g) => `<label><input type="checkbox" name="sg" value="${h(g.name)}"${g.name === "default" ? " checked" : ""}> ${h(g.name)}</label>`)
        .join(" ")}</span>
      <label for="c-bootvol">Boot from a volume</label><span><input id="c-bootvol" type="checkbox" name="bootvol"> of <input name="bootsize" type="number" min="1" value="10" style="width:70px"> GB</span>
      <label for="c-data">Data volume</label><span><input id="c-data" name="datasize" type="number" min="0" value="0" style="width:70px"> GB (0: none)</span>
      <label for="c-count">Count</label><input id="c-count" name="count" type="number" min="1" value="1">
      <div class="full"><button class="primary" type="submit">Create</button> <a href="#/servers">Cancel</a></div>
      <div class="full" id="out"></div>
    </form>`;
  onSubmit(document.getElementById("create"), document.getElementById("out"), async (f) => {
    const count = Number(f.get("count")) || 1;
    const server = {
      name: f.get("name"),
      flavorRef: f.get("flavor"),
      networks: f.get("network") === "none" ? "none" : [{ uuid: f.get("network") }],
      min_count: count,
      max_count: count,
    };
    if (f.get("key")) server.key_name = f.get("key");
    const sgs = f.getAll("sg");
    if (sgs.length) server.security_groups = sgs.map((name) => ({ name }));
    const bdm = [];
    if (f.get("bootvol")) {
      bdm.push({ boot_index: 0, uuid: f.get("image"), source_type: "image", destination_type: "volume", volume_size: Number(f.get("bootsize")), delete_on_termination: true });
    } else {
      server.imageRef = f.get("image");
    }
    if (Number(f.get("datasize")) > 0) {
      bdm.push({ boot_index: -1, source_type: "blank", destination_type: "volume", volume_size: Number(f.get("datasize")), delete_on_termination: true });
    }
    if (bdm.length) server.block_device_mapping_v2 = bdm;
    const r = await post("/v2.1/servers", { server });
    location.hash = count === 1 && r.server ? `#/servers/${r.server.id}` : "#/servers";
    ctx.flash(`Creating ${count} server${count > 1 ? "s" : ""}.`, "info");
  });
}

/// ECS's batch actions answer with a job; the Jobs page follows it.
async function ecsAction(body, what) {
  const r = await post("/v1/{p}/cloudservers/action", body, { nova: null });
  rememberJob(r.job_id, what);
  return r;
}

async function serverPage(ctx) {
  const [id] = ctx.params;
  const flavors = (await get("/v2.1/flavors")).flavors;
  ctx.main.innerHTML = `
    <h1 id="title">Server</h1>
    <div class="actions" id="actions">
      <button data-do="start">Start</button>
      <button data-do="stop">Stop</button>
      <button data-do="reboot">Reboot</button>
      <select id="resize-to" aria-label="New flavor">${flavors.map((f) => `<option value="${h(f.id)}">${h(f.name)}</option>`).join("")}</select>
      <button data-do="resize">Resize</button>
      <button data-do="confirm">Confirm resize</button>
      <button data-do="revert">Revert resize</button>
      <input id="snap-name" placeholder="Snapshot name" aria-label="Snapshot name" size="14">
      <button data-do="snapshot">Snapshot</button>
      <button data-do="lock">Lock</button>
      <button data-do="unlock">Unlock</button>
      <a class="button" href="#/servers/${h(id)}/vnc">VNC console</a>
      <button data-do="delete" class="danger">Delete</button>
    </div>
    <div id="out"></div>
    <dl class="props" id="props"></dl>
    <h2>Console log</h2>
    <pre class="log" id="log"></pre>`;
  const out = document.getElementById("out");
  let server = null;
  const act = (body) => post(`/v2.1/servers/${id}/action`, body);
  const actions = {
    start: () => ecsAction({ "os-start": { servers: [{ id }] } }, `start ${server.name}`),
    stop: () => ecsAction({ "os-stop": { type: "SOFT", servers: [{ id }] } }, `stop ${server.name}`),
    reboot: () => ecsAction({ reboot: { type: "SOFT", servers: [{ id }] } }, `reboot ${server.name}`),
    resize: () => act({ resize: { flavorRef: document.getElementById("resize-to").value } }),
    confirm: () => act({ confirmResize: null }),
    revert: () => act({ revertResize: null }),
    snapshot: async () => {
      const name = document.getElementById("snap-name").value || `${server.name}-snapshot`;
      const r = await act({ createImage: { name } });
      ctx.flash(`Snapshot ${name} (image ${r?.image_id ?? ""}) is being made.`, "info");
    },
    lock: () => act({ lock: null }),
    unlock: () => act({ unlock: null }),
    delete: async (button) => {
      // Two clicks: the first asks.
      if (button.dataset.armed !== "1") {
        button.dataset.armed = "1";
        button.textContent = "Really delete?";
        return;
      }
      const r = await post("/v1/{p}/cloudservers/delete", { servers: [{ id }] }, { nova: null });
      rememberJob(r.job_id, `delete ${server.name}`);
      ctx.flash(`Deleting ${server.name}.`, "info");
      location.hash = "#/servers";
    },
  };
  document.getElementById("actions").addEventListener("click", async (ev) => {
    const button = ev.target.closest("button[data-do]");
    if (!button) return;
    out.innerHTML = "";
    button.disabled = true;
    try {
      await actions[button.dataset.do](button);
    } catch (e) {
      if (!(e instanceof SessionEnded)) out.innerHTML = errorBox(e);
    } finally {
      button.disabled = false;
    }
    // The buttons this state allows, from the server as it now is.
    if (ctx.live) await refresh().catch((e) => e instanceof SessionEnded || (out.innerHTML = errorBox(e)));
  });
  const log = document.getElementById("log");
  async function refresh() {
    const data = await get(`/v2.1/servers/${id}`);
    if (!ctx.live) return;
    server = data.server;
    const s = server;
    document.getElementById("title").innerHTML = `Server ${h(s.name)} ${badge(s.status)}`;
    const props = {
      ID: s.id,
      Status: s.status,
      "Task state": s["OS-EXT-STS:task_state"] ?? "",
      Power: POWER[s["OS-EXT-STS:power_state"]] ?? "",
      Locked: s.locked ? "yes" : "no",
      Flavor: `${s.flavor?.original_name ?? ""} (${s.flavor?.vcpus ?? "?"} vCPU, ${s.flavor?.ram ?? "?"} MiB)`,
      Image: s.image?.id ?? "(volume)",
      Addresses: ips(s),
      "Key pair": s.key_name ?? "",
      "Security groups": (s.security_groups ?? []).map((g) => g.name).join(", "),
      Volumes: (s["os-extended-volumes:volumes_attached"] ?? []).map((v) => v.id).join(", "),
      Host: s["OS-EXT-SRV-ATTR:host"] ?? "",
      Created: s.created,
      Fault: s.fault?.message ?? "",
    };
    draw(document.getElementById("props"), Object.entries(props).map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`).join(""));
    const is = (...states) => states.includes(s.status);
    const enable = { start: is("SHUTOFF"), stop: is("ACTIVE"), reboot: is("ACTIVE"), resize: is("ACTIVE", "SHUTOFF"), confirm: is("VERIFY_RESIZE"), revert: is("VERIFY_RESIZE"), lock: !s.locked, unlock: !!s.locked };
    for (const [name, on] of Object.entries(enable)) document.querySelector(`button[data-do=${name}]`).disabled = !on;
  }
  async function followLog() {
    if (!server || server.status === "BUILD") return;
    let text;
    try {
      text = (await post(`/v2.1/servers/${id}/action`, { "os-getConsoleOutput": { length: 200 } })).output;
    } catch (e) {
      if (e instanceof SessionEnded) throw e;
      text = `(${e.message})`;
    }
    if (!ctx.live || log.textContent === text) return;
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = text;
    if (atEnd) log.scrollTop = log.scrollHeight;
  }
  await ctx.every(refresh, 2000);
  await ctx.every(followLog, 2000);
}

async function vncPage(ctx) {
  const [id] = ctx.params;
  ctx.main.innerHTML = `
    <h1>VNC console <a href="#/servers/${h(id)}" class="muted" style="font-size:14px">back to the server</a></h1>
    <p><span id="vnc-status" class="muted">Asking for a console&hellip;</span> <span id="vnc-link" class="muted"></span></p>
    <div id="screen"></div>`;
  const status = document.getElementById("vnc-status");
  const r = await post(`/v2.1/servers/${id}/remote-consoles`, { remote_console: { protocol: "vnc", type: "novnc" } });
  const url = new URL(r.remote_console.url);
  const inner = new URLSearchParams((url.searchParams.get("path") ?? "").replace(/^[^?]*\?/, ""));
  const token = url.searchParams.get("token") ?? inner.get("token");
  const ws = `${url.protocol === "https:" ? "wss" : "ws"}://${url.host}/?token=${encodeURIComponent(token)}`;
  status.textContent = `Connecting to ${ws.replace(/token=.*/, "token=…")} …`;
  document.getElementById("vnc-link").innerHTML = `(<a href="${h(url.href)}" target="_blank" rel="noopener">the proxy's own page</a>)`;
  const { default: RFB } = await import("/console/vendor/novnc/core/rfb.js");
  if (!ctx.live) return;
  const rfb = new RFB(document.getElementById("screen"), ws);
  rfb.scaleViewport = true;
  let name = "";
  rfb.addEventListener("desktopname", (e) => {
    name = e.detail.name;
  });
  rfb.addEventListener("connect", () => {
    status.textContent = `Connected: RFB handshake done${name ? ` with desktop “${name}”` : ""}.`;
    status.dataset.state = "connected";
  });
  rfb.addEventListener("disconnect", (e) => {
    status.textContent = e.detail.clean ? "Disconnected." : "The console connection failed or was closed.";
    status.dataset.state = "disconnected";
  });
  const stop = ctx.stop;
  ctx.stop = () => {
    stop();
    rfb.disconnect();
  };
}

// ---- Resources ----------------------------------------------------------

function table(headers, rows, empty = "None.") {
  return `<table><thead><tr>${headers.map((x) => `<th>${h(x)}</th>`).join("")}</tr></thead><tbody>${
    rows.length ? rows.join("") : `<tr><td colspan="${headers.length}" class="muted">${h(empty)}</td></tr>`
  }</tbody></table>`;
}

async function volumesPage(ctx) {
  ctx.main.innerHTML = `
    <h1>Volumes</h1>
    <form class="toolbar" id="create">
      <input name="name" placeholder="Name" required> <input name="size" type="number" min="1" value="1" style="width:70px"> GB
      <button class="primary" type="submit">Create volume</button>
    </form><div id="out"></div><div id="list"></div>`;
  const out = document.getElementById("out");
  const list = document.getElementById("list");
  onSubmit(document.getElementById("create"), out, async (f) => {
    await post("/volume/v3/{p}/volumes", { volume: { name: f.get("name"), size: Number(f.get("size")) } });
  });
  list.addEventListener("click", async (ev) => {
    const id = ev.target.dataset?.delete;
    if (!id) return;
    try {
      await del(`/volume/v3/{p}/volumes/${id}`);
    } catch (e) {
      if (!(e instanceof SessionEnded)) out.innerHTML = errorBox(e);
    }
  });
  await ctx.every(async () => {
    const { volumes } = await get("/volume/v3/{p}/volumes/detail", { nova: null });
    if (!ctx.live) return;
    draw(
      list,
      table(
        ["Name", "Status", "Size", "Type", "Bootable", "Attached to", ""],
        volumes.map(
          (v) =>
            `<tr><td>${h(v.name || v.id)}</td><td>${badge(v.status)}</td><td>${h(v.size)} GB</td><td>${h(v.volume_type)}</td><td>${h(v.bootable)}</td><td>${(v.attachments ?? [])
              .map((a) => `<a href="#/servers/${h(a.server_id)}">${h(a.server_id)}</a>`)
              .join(", ")}</td><td><button data-delete="${h(v.id)}">Delete</button></td></tr>`,
        ),
        "No volumes.",
      ),
    );
  }, 2000);
}

async function networksPage(ctx) {
  const [{ networks }, { subnets }] = await Promise.all([get("/networking/v2.0/networks"), get("/networking/v2.0/subnets")]);
  const cidrs = (n) => subnets.filter((s) => s.network_id === n.id).map((s) => `${s.name ? `${s.name} ` : ""}${s.cidr}`);
  ctx.main.innerHTML = `<h1>Networks</h1>${table(
    ["Name", "Status", "Subnets", "Shared", "External", "ID"],
    networks.map((n) => `<tr><td>${h(n.name)}</td><td>${badge(n.status)}</td><td>${h(cidrs(n).join(", "))}</td><td>${h(n.shared)}</td><td>${h(n["router:external"])}</td><td class="muted">${h(n.id)}</td></tr>`),
    "No networks.",
  )}`;
}

async function imagesPage(ctx) {
  const { images } = await get("/image/v2/images?limit=1000");
  ctx.main.innerHTML = `<h1>Images</h1>${table(
    ["Name", "Status", "Format", "Size", "Visibility", "Created", "ID"],
    images.map((i) => `<tr><td>${h(i.name)}</td><td>${badge(i.status)}</td><td>${h(i.disk_format)}</td><td>${gib(i.size)}</td><td>${h(i.visibility)}</td><td>${when(i.created_at)}</td><td class="muted">${h(i.id)}</td></tr>`),
    "No images.",
  )}`;
}

async function keypairsPage(ctx) {
  ctx.main.innerHTML = `
    <h1>Key pairs</h1>
    <form class="toolbar" id="create"><input name="name" placeholder="Name" required><button class="primary" type="submit">Create key pair</button></form>
    <div id="out"></div><div id="list"></div>`;
  const out = document.getElementById("out");
  const list = document.getElementById("list");
  const load = async () => {
    const { keypairs } = await get("/v2.1/os-keypairs");
    draw(
      list,
      table(
        ["Name", "Type", "Fingerprint", ""],
        keypairs.map(({ keypair: k }) => `<tr><td>${h(k.name)}</td><td>${h(k.type)}</td><td>${h(k.fingerprint)}</td><td><button data-delete="${h(k.name)}">Delete</button></td></tr>`),
        "No key pairs.",
      ),
    );
  };
  onSubmit(document.getElementById("create"), out, async (f) => {
    const { keypair } = await post("/v2.1/os-keypairs", { keypair: { name: f.get("name") } });
    out.innerHTML = `<p>Key pair ${h(keypair.name)} created. Its private key, shown once:</p><textarea class="json" readonly>${h(keypair.private_key)}</textarea>`;
    await load();
  });
  list.addEventListener("click", async (ev) => {
    const name = ev.target.dataset?.delete;
    if (!name) return;
    try {
      await del(`/v2.1/os-keypairs/${encodeURIComponent(name)}`);
      await load();
    } catch (e) {
      if (!(e instanceof SessionEnded)) out.innerHTML = errorBox(e);
    }
  });
  await load();
}

async function jobsPage(ctx) {
  ctx.main.innerHTML = `
    <h1>ECS jobs</h1>
    <form class="toolbar" id="lookup"><input name="id" placeholder="Job ID" size="36" required><button type="submit">Look up</button></form>
    <div id="out"></div>
    <p class="muted">The jobs this console started (ECS lists no jobs; look up any other by its ID).</p>
    <div id="list"></div>`;
  const out = document.getElementById("out");
  const list = document.getElementById("list");
  onSubmit(document.getElementById("lookup"), out, async (f) => {
    const id = f.get("id").trim();
    await get(`/v1/{p}/jobs/${encodeURIComponent(id)}`, { nova: null });
    rememberJob(id, "looked up");
    await refresh();
  });
  const cache = new Map();
  async function refresh() {
    const mine = jobs();
    const shown = await Promise.all(
      mine.map(async (j) => {
        const done = cache.get(j.id);
        if (done && (done.status === "SUCCESS" || done.status === "FAIL")) return [j, done];
        try {
          const job = await get(`/v1/{p}/jobs/${encodeURIComponent(j.id)}`, { nova: null });
          cache.set(j.id, job);
          return [j, job];
        } catch (e) {
          if (e instanceof SessionEnded) throw e;
          return [j, { status: "?", fail_reason: e.message }];
        }
      }),
    );
    if (!ctx.live) return;
    draw(
      list,
      shown.length
        ? shown
            .map(([j, job]) => {
              const subs = job.entities?.sub_jobs ?? [];
              return `<h2>${h(j.what)} ${badge(job.status)} <span class="muted">${h(job.job_type ?? "")} ${h(j.id)}</span></h2>
                <p class="muted">begun ${when(job.begin_time)}${job.end_time ? `, ended ${when(job.end_time)}` : ""}${job.fail_reason ? ` — ${h(job.fail_reason)}` : ""}</p>
                ${table(
                  ["Sub-job", "Type", "Status", "Server", "Begun", "Ended", "Failure"],
                  subs.map(
                    (s) =>
                      `<tr><td class="muted">${h(s.job_id)}</td><td>${h(s.job_type)}</td><td>${badge(s.status)}</td><td>${s.entities?.server_id ? `<a href="#/servers/${h(s.entities.server_id)}">${h(s.entities.server_id)}</a>` : ""}</td><td>${when(s.begin_time)}</td><td>${when(s.end_time)}</td><td class="wrap">${h(s.fail_reason ?? s.entities?.errorcode_message ?? "")}</td></tr>`,
                  ),
                  "No sub-jobs.",
                )}`;
            })
            .join("")
        : `<p class="muted">No jobs yet: start, stop, reboot or delete a server.</p>`,
    );
  }
  await ctx.every(refresh, 2000);
}

async function quotasPage(ctx) {
  const s = session();
  const [nova, cinder] = await Promise.all([
    get(`/v2.1/os-quota-sets/${s.project.id}/detail`),
    get(`/volume/v3/{p}/os-quota-sets/${s.project.id}?usage=true`, { nova: null }).catch((e) => {
      if (e instanceof SessionEnded) throw e;
      return null;
    }),
  ]);
  const rows = (set, names) =>
    Object.entries(set ?? {})
      .filter(([k, v]) => v && typeof v === "object" && names.includes(k))
      .map(([k, v]) => `<tr><td>${h(k)}</td><td>${bar(v.in_use + (v.reserved ?? 0), v.limit, k === "ram" ? " MiB" : k === "gigabytes" ? " GB" : "")}</td></tr>`);
  ctx.main.innerHTML = `<h1>Quota usage <span class="muted" style="font-size:14px">project ${h(s.project.name)}</span></h1>
    <h2>Compute</h2>${table(["Resource", "Used / limit"], rows(nova.quota_set, ["instances", "cores", "ram", "key_pairs", "server_groups", "metadata_items"]))}
    ${cinder ? `<h2>Block storage</h2>${table(["Resource", "Used / limit"], rows(cinder.quota_set, ["volumes", "gigabytes", "snapshots", "backups"]))}` : ""}`;
}

// ---- Admin --------------------------------------------------------------

async function hostsPage(ctx) {
  ctx.main.innerHTML = `<h1>Hosts</h1><div id="list"></div>`;
  const list = document.getElementById("list");
  await ctx.every(async () => {
    const [{ hypervisors }, { services }] = await Promise.all([
      get("/v2.1/os-hypervisors/detail", { nova: "compute 2.27" }),
      get("/v2.1/os-services", { nova: "compute 2.27" }),
    ]);
    if (!ctx.live) return;
    const compute = services.filter((s) => s.binary === "nova-compute");
    draw(
      list,
      table(
        ["Host", "State", "Status", "vCPUs", "Memory", "Disk", "Servers"],
        hypervisors.map((hv) => {
          const svc = compute.find((s) => s.host === hv.service?.host || s.host === hv.hypervisor_hostname);
          return `<tr><td>${h(hv.hypervisor_hostname)}</td><td>${badge(hv.state)}</td><td>${badge(hv.status)}${svc?.disabled_reason ? ` <span class="muted">${h(svc.disabled_reason)}</span>` : ""}</td><td>${bar(hv.vcpus_used, hv.vcpus)}</td><td>${bar(hv.memory_mb_used, hv.memory_mb, " MiB")}</td><td>${bar(hv.local_gb_used, hv.local_gb, " GB")}</td><td>${h(hv.running_vms)}</td></tr>`;
        }),
        "No hosts.",
      ) +
        `<h2>Compute services</h2>` +
        table(
          ["Host", "Zone", "State", "Status", "Updated"],
          compute.map((s) => `<tr><td>${h(s.host)}</td><td>${h(s.zone)}</td><td>${badge(s.state)}</td><td>${badge(s.status)}</td><td>${when(s.updated_at)}</td></tr>`),
        ),
    );
  }, 2000);
}

async function simulatorPage(ctx) {
  const { simulator } = await get("/v2.1/os-simulator");
  ctx.main.innerHTML = `
    <h1>Simulator fault injection</h1>
    <p class="muted">The simulated hypervisor's settings (<code>/v2.1/os-simulator</code>): <code>latency_ms</code> per operation,
    <code>faults</code> (<code>{"op": "spawn", "times": 1, "host": "sim-1", "message": "…"}</code>), <code>hosts_down</code>.</p>
    <form id="sim">
      <textarea class="json" name="doc" spellcheck="false">${h(JSON.stringify(simulator, null, 2))}</textarea>
      <div class="toolbar"><button class="primary" type="submit">Save</button></div>
    </form><div id="out"></div>`;
  const out = document.getElementById("out");
  const form = document.getElementById("sim");
  onSubmit(form, out, async (f) => {
    let doc;
    try {
      doc = JSON.parse(f.get("doc"));
    } catch (e) {
      throw new Error(`Not JSON: ${e.message}`);
    }
    const r = await put("/v2.1/os-simulator", { simulator: doc });
    form.doc.value = JSON.stringify(r.simulator, null, 2);
    out.innerHTML = `<p class="muted">Saved.</p>`;
  });
}

export const routes = [
  [/^\/servers$/, serversPage],
  [/^\/servers\/new$/, createPage],
  [/^\/servers\/([^/]+)$/, serverPage],
  [/^\/servers\/([^/]+)\/vnc$/, vncPage],
  [/^\/volumes$/, volumesPage],
  [/^\/networks$/, networksPage],
  [/^\/images$/, imagesPage],
  [/^\/keypairs$/, keypairsPage],
  [/^\/jobs$/, jobsPage],
  [/^\/quotas$/, quotasPage],
  [/^\/hosts$/, hostsPage],
  [/^\/simulator$/, simulatorPage],
];

export { api };
