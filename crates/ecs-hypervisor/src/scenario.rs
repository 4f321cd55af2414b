//! Fault scenarios as data: a document of rules, each a trigger and an
//! effect, loaded at start (`ecsd serve --scenario FILE`) or through the
//! admin API (`PUT /admin/v1/scenario`), and the one place where events
//! are matched against the rules and counted.
//!
//! ```json
//! {"rules": [
//!   {"name": "3rd create on sim-host-1", "op": "create", "host": "sim-host-1", "nth": 3, "no_valid_host": true},
//!   {"op": "reboot", "latency_ms": 30000},
//!   {"after_ms": 10000, "host_down": "sim-host-1"},
//!   {"request": "create", "flavor": "s3.large.2", "error": "Ecs.0023"},
//!   {"route": "GET /v2.1/servers/{server_id}", "every": 5, "status": 503}
//! ]}
//! ```
//!
//! A rule has exactly one trigger: a host operation (`op`, optionally on
//! `host`), a create request (`request` with `flavor`/`image`/`server_name`),
//! an HTTP route (`route`: method and the router's path template) or a time
//! (`after_ms` from loading). `nth` fires on exactly the nth matching event,
//! `every` on each multiple, and `times` caps how often a rule fires.
//!
//! The hooks sit where the events happen: the simulator asks
//! [`Scenarios::host_op`] on each operation, the build asks it for `create`
//! once the scheduler has placed a server, the create path asks
//! [`Scenarios::create_request`], the HTTP layer [`Scenarios::on_route`]; the
//! timed rules are run by whoever loads the scenario
//! ([`Scenarios::install`] hands them back).

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Op;

/// A whole scenario document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// What a rule counts: an operation on a host. `create` is a build placed
/// on the host (counted by the build, once the scheduler chose it); the
/// others are the hypervisor's operations (`spawn`, `reboot`, `power_off`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostOp {
    Create,
    Hypervisor(Op),
}

impl HostOp {
    pub fn as_str(self) -> &'static str {
        match self {
            HostOp::Create => "create",
            HostOp::Hypervisor(op) => op.as_str(),
        }
    }
}

impl Serialize for HostOp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HostOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name == "create" {
            return Ok(HostOp::Create);
        }
        Op::ALL.iter().find(|op| op.as_str() == name).map(|op| HostOp::Hypervisor(*op)).ok_or_else(|| {
            let known: Vec<&str> = std::iter::once("create").chain(Op::ALL.iter().map(|op| op.as_str())).collect();
            serde::de::Error::custom(format!("unknown operation `{name}`, expected one of {}", known.join(", ")))
        })
    }
}

/// The requests a request rule can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Create,
}

/// An HTTP route: a method and the router's path template, as
/// `"GET /v2.1/servers/{server_id}"` (Nova paths without the project id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteKey {
    pub method: String,
    pub template: String,
}

impl std::fmt::Display for RouteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

impl Serialize for RouteKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl<'de> Deserialize<'de> for RouteKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bad = || {
            serde::de::Error::custom(format!(
                "route `{text}` is not a method and a path template, like `GET /v2.1/servers/{{server_id}}`"
            ))
        };
        let (method, template) = text.split_once(' ').ok_or_else(bad)?;
        let method = method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) || !template.starts_with('/') || template.contains(' ') {
            return Err(bad());
        }
        Ok(RouteKey { method, template: template.to_string() })
    }
}

/// One rule as written: its trigger, its effect and how often it fires.
/// Which fields go together is checked as it is read ([`Rule`]'s
/// `TryFrom`), so that a document that does not hold together is refused
/// with the place and the reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleText {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    // Triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<HostOp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<RequestKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flavor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    route: Option<RouteKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after_ms: Option<u64>,
    // How often.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nth: Option<NonZeroU32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    every: Option<NonZeroU32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    times: Option<NonZeroU32>,
    // Effects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    no_valid_host: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host_down: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host_up: Option<String>,
}

/// A rule that holds together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RuleText", into = "RuleText")]
pub struct Rule {
    text: RuleText,
    pub trigger: Trigger,
    pub effect: Effect,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    HostOp { op: HostOp, host: Option<String> },
    Create { flavor: Option<String>, image: Option<String>, server_name: Option<String> },
    Route(RouteKey),
    After(Duration),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The operation fails with this message (a build: on that host).
    Fail(String),
    /// The build finds no host (Nova's NoValidHost; ECS's Ecs.0319).
    NoValidHost,
    /// The operation takes this long more.
    Latency(Duration),
    /// The request is refused with this ECS error code (and message).
    Error {
        code: String,
        message: Option<String>,
    },
    /// The request is answered with this HTTP status.
    Status(u16),
    HostDown(String),
    HostUp(String),
}

impl From<Rule> for RuleText {
    fn from(rule: Rule) -> RuleText {
        rule.text
    }
}

impl TryFrom<RuleText> for Rule {
    type Error = String;

    fn try_from(t: RuleText) -> Result<Rule, String> {
        let kinds = [
            t.op.map(|_| "op"),
            t.request.map(|_| "request"),
            t.route.as_ref().map(|_| "route"),
            t.after_ms.map(|_| "after_ms"),
        ];
        let given: Vec<&str> = kinds.into_iter().flatten().collect();
        let trigger = match given.as_slice() {
            [] => return Err("a rule needs one trigger: `op`, `request`, `route` or `after_ms`".into()),
            [_, _, ..] => return Err(format!("a rule has one trigger, not {}", given.join(" and "))),
            ["op"] => Trigger::HostOp { op: t.op.expect("given"), host: t.host.clone() },
            ["request"] => {
                Trigger::Create { flavor: t.flavor.clone(), image: t.image.clone(), server_name: t.server_name.clone() }
            }
            ["route"] => Trigger::Route(t.route.clone().expect("given")),
            _ => Trigger::After(Duration::from_millis(t.after_ms.expect("given"))),
        };
        let only = |field: &str, value: bool, with: &str| -> Result<(), String> {
            if value { Err(format!("`{field}` goes with {with}")) } else { Ok(()) }
        };
        only("host", t.host.is_some() && !matches!(trigger, Trigger::HostOp { .. }), "`op`")?;
        let request = matches!(trigger, Trigger::Create { .. });
        only("flavor", t.flavor.is_some() && !request, "`request`")?;
        only("image", t.image.is_some() && !request, "`request`")?;
        only("server_name", t.server_name.is_some() && !request, "`request`")?;
        if matches!(trigger, Trigger::After(_)) && (t.nth.is_some() || t.every.is_some() || t.times.is_some()) {
            return Err("a timed rule (`after_ms`) fires once: no `nth`, `every` or `times`".into());
        }
        if t.nth.is_some() && t.every.is_some() {
            return Err("`nth` and `every` do not go together".into());
        }
        let effects = [
            t.fail.as_ref().map(|_| "fail"),
            t.no_valid_host.map(|_| "no_valid_host"),
            t.latency_ms.map(|_| "latency_ms"),
            t.error.as_ref().map(|_| "error"),
            t.status.map(|_| "status"),
            t.host_down.as_ref().map(|_| "host_down"),
            t.host_up.as_ref().map(|_| "host_up"),
        ];
        let effects: Vec<&str> = effects.into_iter().flatten().collect();
        if effects.len() > 1 {
            return Err(format!("a rule has one effect, not {}", effects.join(" and ")));
        }
        only("message", t.message.is_some() && t.error.is_none(), "`error`")?;
        let effect = match (&trigger, effects.first().copied()) {
            (Trigger::HostOp { .. }, Some("fail")) => Effect::Fail(t.fail.clone().expect("given")),
            (Trigger::HostOp { .. }, Some("latency_ms")) => {
                Effect::Latency(Duration::from_millis(t.latency_ms.expect("given")))
            }
            (Trigger::HostOp { op: HostOp::Create, .. }, Some("no_valid_host")) => {
                if t.no_valid_host != Some(true) {
                    return Err("`no_valid_host` is `true` or left out".into());
                }
                Effect::NoValidHost
            }
            (Trigger::HostOp { .. }, Some("no_valid_host")) => {
                return Err("`no_valid_host` goes with `op: create`".into());
            }
            (Trigger::HostOp { .. }, _) => {
                return Err("a rule on an operation has `fail`, `latency_ms` or (on create) `no_valid_host`".into());
            }
            (Trigger::Create { .. }, Some("error")) => {
                Effect::Error { code: t.error.clone().expect("given"), message: t.message.clone() }
            }
            (Trigger::Create { .. }, _) => return Err("a rule on a request has `error` (an ECS error code)".into()),
            (Trigger::Route(_), None) => Effect::Status(503),
            (Trigger::Route(_), Some("status")) => {
                let status = t.status.expect("given");
                if !(400..=599).contains(&status) {
                    return Err(format!("`status` {status} is not an error status (400–599)"));
                }
                Effect::Status(status)
            }
            (Trigger::Route(_), _) => return Err("a rule on a route has `status` (503 if left out)".into()),
            (Trigger::After(_), Some("host_down")) => Effect::HostDown(t.host_down.clone().expect("given")),
            (Trigger::After(_), Some("host_up")) => Effect::HostUp(t.host_up.clone().expect("given")),
            (Trigger::After(_), _) => return Err("a timed rule (`after_ms`) has `host_down` or `host_up`".into()),
        };
        Ok(Rule { text: t, trigger, effect })
    }
}

impl Rule {
    pub fn name(&self) -> Option<&str> {
        self.text.name.as_deref()
    }

    /// Names a route rule's template as the router spells it.
    pub fn set_route_template(&mut self, template: String) {
        if let (Trigger::Route(key), Some(text)) = (&mut self.trigger, &mut self.text.route) {
            key.template = template.clone();
            text.template = template;
        }
    }

    /// Counts one matching event; true when the rule fires on it.
    fn count(&self, state: &mut RuleState) -> bool {
        state.seen += 1;
        let hit = match (self.text.nth, self.text.every) {
            (Some(n), _) => state.seen == u64::from(n.get()),
            (_, Some(e)) => state.seen.checked_rem(u64::from(e.get())) == Some(0),
            _ => true,
        };
        let hit = hit && self.text.times.is_none_or(|t| state.fired < u64::from(t.get()));
        if hit {
            state.fired += 1;
        }
        hit
    }

    /// Whether the rule may still fire.
    fn pending(&self, state: &RuleState) -> bool {
        if matches!(self.trigger, Trigger::After(_)) {
            return state.fired == 0;
        }
        if let Some(n) = self.text.nth {
            return state.seen < u64::from(n.get());
        }
        self.text.times.is_none_or(|t| state.fired < u64::from(t.get()))
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct RuleState {
    seen: u64,
    fired: u64,
}

#[derive(Debug, Default)]
struct Loaded {
    scenario: Scenario,
    states: Vec<RuleState>,
    /// On ecsd's clock, as the timed rules count: an admin's advance
    /// brings what is due forward.
    loaded: Option<ecs_types::Timestamp>,
    /// Changes with each load: a timer of an earlier load does nothing.
    generation: u64,
}

/// The loaded scenario and its counters, shared by the API, the core and
/// the simulated hosts of a process.
#[derive(Debug, Clone, Default)]
pub struct Scenarios(Arc<Mutex<Loaded>>);

/// What a host operation meets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostOpEffect {
    /// Added time (the longest of the rules that fired).
    pub latency: Option<Duration>,
    /// The first failure of the rules that fired.
    pub fail: Option<Effect>,
}

/// A timed rule to run: after `after`, call [`Scenarios::fire_timed`].
#[derive(Debug, Clone)]
pub struct Timed {
    pub generation: u64,
    pub index: usize,
    pub after: Duration,
    pub effect: Effect,
}

/// A rule with how often it met its trigger and fired.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    pub rule: Rule,
    pub seen: u64,
    pub fired: u64,
    pub pending: bool,
    /// A timed rule not yet run: in how many milliseconds it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_in_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// Milliseconds since the scenario was loaded (None: none is).
    pub loaded_ms_ago: Option<u64>,
    pub rules: Vec<RuleReport>,
}

impl Scenarios {
    fn state(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the scenario (counters start at zero, times count from
    /// now); returns the timed rules for the caller to run.
    pub fn install(&self, scenario: Scenario) -> Vec<Timed> {
        let mut state = self.state();
        state.generation += 1;
        state.states = vec![RuleState::default(); scenario.rules.len()];
        state.loaded = Some(ecs_types::clock::now());
        let generation = state.generation;
        let timed = scenario
            .rules
            .iter()
            .enumerate()
            .filter_map(|(index, rule)| match rule.trigger {
                Trigger::After(after) => Some(Timed { generation, index, after, effect: rule.effect.clone() }),
                _ => None,
            })
            .collect();
        state.scenario = scenario;
        timed
    }

    pub fn clear(&self) {
        self.install(Scenario::default());
        self.state().loaded = None;
    }

    /// Marks a timed rule run; false when its scenario was replaced since.
    pub fn fire_timed(&self, timed: &Timed) -> bool {
        let mut state = self.state();
        if state.generation != timed.generation {
            return false;
        }
        match state.states.get_mut(timed.index) {
            Some(s) if s.fired == 0 => {
                s.seen = 1;
                s.fired = 1;
                true
            }
            _ => false,
        }
    }

    /// Counts `op` on `host` against the rules on operations.
    pub fn host_op(&self, host: &str, op: HostOp) -> HostOpEffect {
        let mut guard = self.state();
        let Loaded { scenario, states, .. } = &mut *guard;
        let mut out = HostOpEffect::default();
        for (rule, state) in scenario.rules.iter().zip(states.iter_mut()) {
            let Trigger::HostOp { op: wanted, host: on } = &rule.trigger else { continue };
            if *wanted != op || on.as_deref().is_some_and(|h| h != host) || !rule.count(state) {
                continue;
            }
            match &rule.effect {
                Effect::Latency(d) => out.latency = Some(out.latency.map_or(*d, |l| l.max(*d))),
                effect if out.fail.is_none() => out.fail = Some(effect.clone()),
                _ => {}
            }
        }
        out
    }

    /// Counts a create request against the request rules: the ECS code
    /// (and message) of the first that fires. `flavor` and `image` are the
    /// names the request may be matched by (id and name).
    pub fn create_request(&self, flavor: &[&str], image: &[&str], name: &str) -> Option<(String, Option<String>)> {
        let mut guard = self.state();
        let Loaded { scenario, states, .. } = &mut *guard;
        let mut out = None;
        for (rule, state) in scenario.rules.iter().zip(states.iter_mut()) {
            let Trigger::Create { flavor: f, image: i, server_name: n } = &rule.trigger else { continue };
            let matches = f.as_deref().is_none_or(|f| flavor.contains(&f))
                && i.as_deref().is_none_or(|i| image.contains(&i))
                && n.as_deref().is_none_or(|n| n == name);
            if !matches || !rule.count(state) {
                continue;
            }
            if let (None, Effect::Error { code, message }) = (&out, &rule.effect) {
                out = Some((code.clone(), message.clone()));
            }
        }
        out
    }

    /// Counts a request to `method` `template`: the status to answer with.
    pub fn on_route(&self, method: &str, template: &str) -> Option<u16> {
        let mut guard = self.state();
        let Loaded { scenario, states, .. } = &mut *guard;
        let mut out = None;
        for (rule, state) in scenario.rules.iter().zip(states.iter_mut()) {
            let Trigger::Route(key) = &rule.trigger else { continue };
            if key.method != method || key.template != template || !rule.count(state) {
                continue;
            }
            if let (None, Effect::Status(status)) = (out, &rule.effect) {
                out = Some(*status);
            }
        }
        out
    }

    pub fn report(&self) -> ScenarioReport {
        let state = self.state();
        let since = state.loaded.map(|t| (ecs_types::clock::now() - t).to_std().unwrap_or_default());
        let rules = state
            .scenario
            .rules
            .iter()
            .zip(&state.states)
            .map(|(rule, s)| {
                let pending = rule.pending(s);
                let due_in_ms = match (&rule.trigger, since) {
                    (Trigger::After(after), Some(since)) if pending => {
                        Some(after.saturating_sub(since).as_millis() as u64)
                    }
                    _ => None,
                };
                RuleReport { rule: rule.clone(), seen: s.seen, fired: s.fired, pending, due_in_ms }
            })
            .collect();
        ScenarioReport { loaded_ms_ago: since.map(|d| d.as_millis() as u64), rules }
    }
}

/// The line and column (1-based) of the first `"value"` in `text` (or, as
/// YAML may write it, the bare value): where a value the document's own
/// parse could not check is.
pub fn locate(text: &str, value: &str) -> Option<(usize, usize)> {
    let quoted = serde_json::to_string(value).ok()?;
    let at = text.find(&quoted).or_else(|| text.find(value))?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn nth_fires_on_exactly_the_nth() {
        let s = Scenarios::default();
        let doc = parse(r#"{"rules": [{"op": "create", "host": "h1", "nth": 3, "no_valid_host": true}]}"#).unwrap();
        s.install(doc);
        let fired: Vec<bool> = (0..5).map(|_| s.host_op("h1", HostOp::Create).fail.is_some()).collect();
        assert_eq!(fired, [false, false, true, false, false]);
        assert!(s.host_op("h2", HostOp::Create).fail.is_none());
        let report = s.report();
        assert_eq!((report.rules[0].seen, report.rules[0].fired, report.rules[0].pending), (5, 1, false));
    }

    #[test]
    fn every_and_times() {
        let s = Scenarios::default();
        let doc = parse(r#"{"rules": [{"route": "GET /v2.1/servers", "every": 2, "times": 2}]}"#).unwrap();
        s.install(doc);
        let hits: Vec<Option<u16>> = (0..8).map(|_| s.on_route("GET", "/v2.1/servers")).collect();
        assert_eq!(hits, [None, Some(503), None, Some(503), None, None, None, None]);
    }

    #[test]
    fn rules_that_do_not_hold_together_are_refused_with_the_place() {
        for (doc, reason) in [
            (r#"{"rules": [{"op": "explode", "fail": "x"}]}"#, "unknown operation `explode`"),
            (r#"{"rules": [{"op": "reboot", "nth": 0, "fail": "x"}]}"#, "nonzero"),
            (r#"{"rules": [{"op": "reboot", "error": "Ecs.0023"}]}"#, "a rule on an operation"),
            (r#"{"rules": [{"fail": "x"}]}"#, "needs one trigger"),
            (r#"{"rules": [{"route": "/v2.1/servers"}]}"#, "not a method and a path template"),
            (r#"{"rules": [{"after_ms": 5, "host_down": "h", "nth": 2}]}"#, "fires once"),
            (r#"{"rules": [{"op": "spawn", "no_valid_host": true}]}"#, "goes with `op: create`"),
            (r#"{"rules": [{"route": "GET /x", "status": 200}]}"#, "not an error status"),
            (r#"{"rules": [{"op": "reboot", "bogus": 1}]}"#, "unknown field `bogus`"),
        ] {
            let e = parse(doc).unwrap_err();
            assert!(e.contains(reason), "{doc}: {e}");
            assert!(e.contains("line 1 column"), "{doc}: {e}");
        }
    }

    #[test]
    fn locate_finds_a_value() {
        assert_eq!(locate("{\n  \"a\": \"Ecs.9\"\n}", "Ecs.9"), Some((2, 8)));
    }
}
