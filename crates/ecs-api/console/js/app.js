// The console's shell: hash routes (#/servers, #/servers/ID…), the
// header (user, project switcher, log out), the flash line, and the
// timers a page polls with, stopped when the page is left.

import { session, logout, switchProject, SessionEnded } from "./api.js";
import { routes, loginPage, h } from "./pages.js";

const main = document.getElementById("main");
const flashBox = document.getElementById("flash");
let page = null;

export function flash(message, kind = "error") {
  flashBox.textContent = message;
  flashBox.className = kind;
  flashBox.hidden = !message;
}

/// What a page gets: where to draw, whether it is still shown, polling.
function context(params, query) {
  const timers = [];
  const ctx = {
    main,
    params,
    query,
    live: true,
    flash,
    /// Runs `fn` now and every `ms` while the page is shown, one run at a
    /// time; an error is shown and polling goes on.
    every(fn, ms) {
      let running = false;
      const tick = async () => {
        if (!ctx.live || running) return;
        running = true;
        try {
          await fn();
        } catch (e) {
          if (ctx.live) show(e);
        } finally {
          running = false;
        }
      };
      timers.push(setInterval(tick, ms));
      return tick();
    },
    stop() {
      ctx.live = false;
      timers.forEach(clearInterval);
    },
  };
  return ctx;
}

export function show(e) {
  if (e instanceof SessionEnded) return;
  flash(e?.message ? e.message : String(e));
}

function header(s) {
  const top = document.getElementById("top");
  top.hidden = !s;
  if (!s) return;
  document.body.classList.toggle("is-admin", s.roles.includes("admin"));
  document.getElementById("user").textContent = s.user.name;
  const select = document.getElementById("project");
  select.innerHTML = s.projects
    .map((p) => `<option value="${h(p.id)}"${p.id === s.project.id ? " selected" : ""}>${h(p.name)}</option>`)
    .join("");
  select.disabled = s.projects.length < 2;
  const here = location.hash.split("?")[0].split("/")[1];
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${here}`);
}

async function route() {
  page?.stop();
  const s = session();
  const [path, q = ""] = location.hash.replace(/^#/, "").split("?");
  if (!s && path !== "/login") {
    location.hash = "#/login";
    return;
  }
  if (path !== "/login") flash("");
  header(path === "/login" ? null : s);
  const query = new URLSearchParams(q);
  if (path === "/login") {
    page = context([], query);
    return loginPage(page);
  }
  for (const [pattern, render] of routes) {
    const m = path.match(pattern);
    if (m) {
      page = context(m.slice(1).map(decodeURIComponent), query);
      main.innerHTML = `<p class="muted">Loading&hellip;</p>`;
      try {
        await render(page);
      } catch (e) {
        if (page.live && !(e instanceof SessionEnded)) {
          main.innerHTML = `<div class="error">${h(e.message ?? String(e))}</div>`;
        }
      }
      return;
    }
  }
  location.hash = "#/servers";
}

document.getElementById("logout").addEventListener("click", () => logout());
document.getElementById("project").addEventListener("change", async (ev) => {
  try {
    await switchProject(ev.target.value);
    location.hash = "#/servers";
    route();
  } catch (e) {
    show(e);
  }
});
// Whatever goes wrong is said, never a blank page.
window.addEventListener("unhandledrejection", (ev) => show(ev.reason));
window.addEventListener("error", (ev) => show(ev.error ?? ev.message));
window.addEventListener("hashchange", route);
route();
