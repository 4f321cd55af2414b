// Calls to ecsd's own public APIs with the Keystone token kept in
// sessionStorage. An API error becomes an ApiError carrying the message
// the API wrote; a 401 (token expired, revoked or unknown) ends the
// session and sends the browser back to the login page.

const KEY = "ecsd.session";

/// The compute microversion the console speaks (remote consoles need
/// 2.6, `locked` 2.9, embedded flavors 2.47).
const NOVA = "compute 2.79";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/// A 401 from an API: the token is gone; the login page is shown.
export class SessionEnded extends ApiError {}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) ?? null;
  } catch {
    return null;
  }
}

function save(s) {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function logout(message) {
  sessionStorage.removeItem(KEY);
  if (message) sessionStorage.setItem("ecsd.flash", message);
  if (location.hash !== "#/login") location.hash = "#/login";
}

/// The message of an error body, in whichever dialect's shape it came:
/// Nova and Cinder `{"itemNotFound": {"message"}}`, Keystone and ECS
/// `{"error": {"message"}}` (ECS with a string code), Neutron
/// `{"NeutronError": {"message"}}`, Glance and VPC `{"message"}`, VPC v3
/// `{"error_msg"}`.
export function errorMessage(body, status) {
  if (body && typeof body === "object") {
    const err = body.error;
    if (err && typeof err === "object" && err.message) {
      return typeof err.code === "string" ? `${err.message} (${err.code})` : err.message;
    }
    if (body.NeutronError?.message) return body.NeutronError.message;
    if (typeof body.message === "string") return typeof body.code === "string" ? `${body.message} (${body.code})` : body.message;
    if (body.error_msg) return body.error_code ? `${body.error_msg} (${body.error_code})` : body.error_msg;
    for (const v of Object.values(body)) {
      if (v && typeof v === "object" && typeof v.message === "string") return v.message;
    }
  }
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 500);
  return `HTTP ${status}`;
}

async function parse(r) {
  const text = await r.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/// One API call. `path` may hold `{p}`, the current project's id.
export async function api(method, path, body, { headers = {}, nova = NOVA } = {}) {
  const s = session();
  if (!s) {
    logout();
    throw new SessionEnded(401, "Log in first.");
  }
  const h = { Accept: "application/json", "X-Auth-Token": s.token, ...headers };
  if (nova) h["OpenStack-API-Version"] = nova;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const url = path.replaceAll("{p}", s.project.id);
  const r = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await parse(r);
  if (r.status === 401) {
    logout(`Your session ended: ${errorMessage(data, r.status)} Log in again.`);
    throw new SessionEnded(401, errorMessage(data, r.status));
  }
  if (!r.ok) throw new ApiError(r.status, errorMessage(data, r.status));
  return data;
}

export const get = (path, opts) => api("GET", path, undefined, opts);
export const post = (path, body, opts) => api("POST", path, body ?? null, opts);
export const put = (path, body, opts) => api("PUT", path, body, opts);
export const del = (path, opts) => api("DELETE", path, undefined, opts);

/// POST /identity/v3/auth/tokens; the token, its project and roles.
async function issue(auth) {
  const r = await fetch("/identity/v3/auth/tokens", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ auth }),
  });
  const data = await parse(r);
  if (!r.ok) throw new ApiError(r.status, errorMessage(data, r.status));
  return { token: r.headers.get("X-Subject-Token"), body: data.token };
}

async function projectsOf(token) {
  const r = await fetch("/identity/v3/auth/projects", { headers: { "X-Auth-Token": token, Accept: "application/json" } });
  const data = await parse(r);
  if (!r.ok) throw new ApiError(r.status, errorMessage(data, r.status));
  return data.projects.map((p) => ({ id: p.id, name: p.name }));
}

function remember(issued, projects) {
  const t = issued.body;
  const s = {
    token: issued.token,
    expires: t.expires_at,
    user: { id: t.user.id, name: t.user.name },
    project: { id: t.project.id, name: t.project.name },
    roles: (t.roles ?? []).map((r) => r.name),
    projects,
  };
  save(s);
  return s;
}

/// Password login, scoped to `project` (a name) or, without one, to the
/// user's default project or else the first they have a role on.
export async function login(user, password, project) {
  const identity = { methods: ["password"], password: { user: { name: user, domain: { name: "Default" }, password } } };
  const scope = project ? { project: { name: project, domain: { name: "Default" } } } : undefined;
  let issued = await issue({ identity, scope });
  const projects = await projectsOf(issued.token);
  if (!issued.body.project) {
    if (!projects.length) throw new ApiError(401, `User ${user} has no role on any project.`);
    issued = await issue({ identity, scope: { project: { id: projects[0].id } } });
  }
  return remember(issued, projects);
}

/// A token for another of the user's projects, from the current one.
export async function switchProject(id) {
  const s = session();
  const issued = await issue({
    identity: { methods: ["token"], token: { id: s.token } },
    scope: { project: { id } },
  });
  return remember(issued, s.projects);
}

/// ECS jobs this console started, newest first (ECS has no job list).
export function jobs() {
  try {
    return JSON.parse(sessionStorage.getItem("ecsd.jobs")) ?? [];
  } catch {
    return [];
  }
}

export function rememberJob(id, what) {
  const list = jobs().filter((j) => j.id !== id);
  list.unshift({ id, what, at: new Date().toISOString() });
  sessionStorage.setItem("ecsd.jobs", JSON.stringify(list.slice(0, 100)));
}
