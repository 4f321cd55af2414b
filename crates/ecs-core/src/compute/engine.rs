//! The task engine: claims durable tasks from the database and runs them
//! step by step. After every step its outcome (and the server state it
//! produced) is recorded in one transaction; a failed step unwinds the
//! steps before it, newest first. A worker that dies leaves its lease to
//! run out; whoever claims the task next resumes at the recorded step, so
//! every step is written to be idempotent.
//!
//! A live run keeps its lease with a heartbeat, however long a step takes,
//! and every write it makes carries its claim's fencing token: a run whose
//! lease was taken over anyway (a node cut off from the database for
//! longer than the lease) records nothing more, so a task never runs twice
//! at once. Within one process, the tasks running are also never claimed
//! again.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ecs_hypervisor::Hypervisor;
use ecs_store::{ClaimedTask, LeaseToken, TaskAdvance};
use ecs_types::server::{Task, TaskPhase};
use serde_json::Value;
use tokio::sync::{Notify, Semaphore};
use tracing::Instrument;

use super::failure::{FailureKind, TaskFailure};
use super::sagas::{Progress, Saga, StepContext, StepError, TaskKind, TaskParams, with_saga};
use super::scheduler::HostView;
use crate::Core;

/// The hypervisor drivers this process runs, by host name, and the
/// scheduler's recent view of the hosts' records.
#[derive(Default)]
pub struct Drivers {
    drivers: RwLock<HashMap<String, Arc<dyn Hypervisor>>>,
    /// The hosts driven through their agents, with the agents' URLs.
    remote: RwLock<HashMap<String, String>>,
    view: Mutex<Option<Arc<HostView>>>,
    /// One rebuild of the view at a time: decisions that find it stale
    /// together wait for one read of the hosts, not one each.
    pub(crate) rebuilding: tokio::sync::Mutex<()>,
    /// Wraps every driver added so that its calls are counted and timed.
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// Nova's MaxRetriesExceeded, with the last host's failure.
fn exhausted(task: &Task, last_failure: &str) -> String {
    format!(
        "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for \
         instance {}. Last failure: {last_failure}",
        task.server_id.as_deref().unwrap_or("")
    )
}

/// How old the scheduler's view of the hosts may be.
const HOST_VIEW_TTL: Duration = Duration::from_secs(1);

impl Drivers {
    /// Drivers whose calls `metrics` records (none: recorded nowhere).
    pub fn metered(metrics: Option<Arc<crate::metrics::Metrics>>) -> Drivers {
        Drivers { metrics, ..Default::default() }
    }

    /// `driver`, wrapped to record its calls when metrics are on.
    fn wrap(&self, driver: Arc<dyn Hypervisor>) -> Arc<dyn Hypervisor> {
        match &self.metrics {
            Some(metrics) => Arc::new(crate::metrics::metered::Metered { inner: driver, metrics: metrics.clone() }),
            None => driver,
        }
    }

    pub fn insert(&self, driver: Arc<dyn Hypervisor>) {
        let driver = self.wrap(driver);
        self.drivers.write().expect("drivers lock").insert(driver.host().to_string(), driver);
        self.invalidate_view();
    }

    pub fn get(&self, host: &str) -> Option<Arc<dyn Hypervisor>> {
        self.drivers.read().expect("drivers lock").get(host).cloned()
    }

    /// The names of the hosts driven here.
    pub fn hosts(&self) -> Vec<String> {
        self.drivers.read().expect("drivers lock").keys().cloned().collect()
    }

    /// The hosts whose hypervisor runs in this process (not through an
    /// agent): this process beats for them.
    pub fn local_hosts(&self) -> Vec<String> {
        let remote = self.remote.read().expect("remote lock");
        self.drivers.read().expect("drivers lock").keys().filter(|h| !remote.contains_key(*h)).cloned().collect()
    }

    pub fn all(&self) -> Vec<Arc<dyn Hypervisor>> {
        self.drivers.read().expect("drivers lock").values().cloned().collect()
    }

    /// Drives the hosts `agents` names through their agents: a host new
    /// here, or whose agent moved, gets a driver from `connector`; a
    /// remote host no longer listed is dropped. Hosts driven in this
    /// process are left as they are. Returns how many drivers changed.
    pub fn sync_remote(&self, agents: &[ecs_store::HostAgent], connector: &dyn super::agents::Connector) -> usize {
        let mut changed = 0;
        let mut remote = self.remote.write().expect("remote lock");
        let mut drivers = self.drivers.write().expect("drivers lock");
        for agent in agents {
            let local = drivers.contains_key(&agent.name) && !remote.contains_key(&agent.name);
            if local || remote.get(&agent.name) == Some(&agent.url) {
                continue;
            }
            drivers.insert(agent.name.clone(), self.wrap(connector.connect(agent)));
            remote.insert(agent.name.clone(), agent.url.clone());
            changed += 1;
        }
        remote.retain(|name, _| {
            let listed = agents.iter().any(|a| a.name == *name);
            if !listed {
                drivers.remove(name);
                changed += 1;
            }
            listed
        });
        changed
    }

    /// The scheduler's view if read less than [`HOST_VIEW_TTL`] ago and,
    /// when `since` is given, after it.
    pub(crate) fn cached_view(&self, since: Option<std::time::Instant>) -> Option<Arc<HostView>> {
        let view = self.view.lock().expect("view lock");
        view.as_ref().filter(|v| v.built.elapsed() < HOST_VIEW_TTL && since.is_none_or(|t| v.built >= t)).cloned()
    }

    pub(crate) fn store_view(&self, view: Arc<HostView>) {
        *self.view.lock().expect("view lock") = Some(view);
    }

    /// Drops the view: the next decision reads the hosts again (a host
    /// came, an aggregate changed).
    pub fn invalidate_view(&self) {
        *self.view.lock().expect("view lock") = None;
    }
}

/// Wakes the engine when a task is queued, so that work starts at once
/// rather than at the next poll.
#[derive(Default)]
pub struct Wake(Notify);

impl Wake {
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Tasks run at once by this process.
    pub concurrency: usize,
    /// How long a claim holds unless renewed before another worker may
    /// take the task over. A running task renews it every third of this
    /// (its heartbeat), so a dead worker's tasks resume within one lease.
    pub lease: Duration,
    /// How often to look for work nobody announced (other nodes' tasks,
    /// expired leases).
    pub poll: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { concurrency: 64, lease: Duration::from_secs(30), poll: Duration::from_millis(500) }
    }
}

/// A crash on purpose, for the recovery tests: `ECSD_CRASH_AT=<kind>:<step>:<before|after>`
/// aborts the process before a step runs or after it ran but before its
/// outcome is recorded — the two moments a real crash can catch. Only in
/// builds with the `crash-points` feature (the test build turns it on); a
/// release binary has no such switch.
#[cfg(feature = "crash-points")]
fn crash_point(kind: TaskKind, step: usize, when: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("ECSD_CRASH_AT").ok());
    if at.as_deref() == Some(format!("{}:{step}:{when}", kind.as_str()).as_str()) {
        tracing::error!(kind = kind.as_str(), step, when, "ECSD_CRASH_AT reached: aborting");
        std::process::abort();
    }
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
fn crash_point(_: TaskKind, _: usize, _: &str) {}

fn lease_end(core: &Core) -> ecs_types::Timestamp {
    ecs_types::clock::real_now() + chrono::Duration::from_std(core.config.engine.lease).expect("lease fits")
}

/// The tasks this process is running, by id: the engine never claims
/// one of them again while its run lasts.
#[derive(Clone, Default)]
struct Running(Arc<Mutex<HashSet<String>>>);

impl Running {
    fn ids(&self) -> Vec<String> {
        self.0.lock().expect("running lock").iter().cloned().collect()
    }

    /// Marks `id` running until the guard drops; None if it already is.
    fn enter(&self, id: &str) -> Option<RunningGuard> {
        self.0.lock().expect("running lock").insert(id.to_string()).then(|| RunningGuard(self.clone(), id.to_string()))
    }
}

struct RunningGuard(Running, String);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.0.lock().expect("running lock").remove(&self.1);
    }
}

/// Runs the engine until `stop` resolves. Tasks in flight when it stops
/// are simply abandoned: their leases run out (or are released at the
/// next single-node start) and they resume where they were.
pub async fn run(core: Arc<Core>, stop: impl std::future::Future<Output = ()>) {
    // Running while this future lives (`/readyz`): cleared when it ends or is dropped.
    struct Alive<'a>(&'a AtomicBool);
    impl Drop for Alive<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Relaxed);
        }
    }
    core.engine_running.store(true, Ordering::Relaxed);
    let _alive = Alive(&core.engine_running);
    let slots = Arc::new(Semaphore::new(core.config.engine.concurrency));
    let worker = core.node_id.clone();
    let running = Running::default();
    tokio::pin!(stop);
    loop {
        let free = slots.available_permits();
        let concurrency = core.config.engine.concurrency;
        let mut claimed = 0;
        // Claim in batches while busy: each claim is a write, and the
        // single SQLite writer is the scarce resource.
        if free == concurrency || (free > 0 && free >= concurrency / 4) {
            // Held while claiming and by the tasks claimed: a snapshot or a
            // reset waits for them, and no claim starts meanwhile.
            let gate = Arc::new(core.snapshots.gate.clone().read_owned().await);
            let hosts = core.drivers.hosts();
            // Tasks of servers on hosts that are down are anyone's.
            let down_time = chrono::Duration::from_std(core.config.service_down_time).unwrap_or(chrono::Duration::MAX);
            let up_since =
                ecs_types::clock::real_now().checked_sub_signed(down_time).unwrap_or(chrono::DateTime::UNIX_EPOCH);
            let ids = running.ids();
            match core.store.task_claim(&worker, free as i64, lease_end(&core), &hosts, &ids, up_since).await {
                Ok(tasks) => {
                    claimed = tasks.len();
                    for claim in tasks {
                        // Excluded from the claim; kept as a second guard.
                        let Some(guard) = running.enter(&claim.task.id) else {
                            tracing::error!(task = %claim.task.id, "claimed a task this node is running; not starting it twice");
                            continue;
                        };
                        let permit = slots.clone().acquire_owned().await.expect("semaphore open");
                        let core = core.clone();
                        let gate = gate.clone();
                        tokio::spawn(async move {
                            run_task(&core, claim).await;
                            drop(gate);
                            drop(guard);
                            drop(permit);
                            core.wake.notify();
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming tasks failed"),
            }
        }
        if claimed > 0 && claimed == free {
            continue;
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = core.wake.0.notified() => {}
            _ = tokio::time::sleep(core.config.engine.poll) => {}
        }
    }
}

/// The task parameter that holds a password for the guest.
pub const SECRET_PARAM: &str = "admin_pass";

/// A task's parameters without the password, if they held one.
fn without_secret(params: &Value) -> Option<Value> {
    let params = params.as_object().filter(|p| p.contains_key(SECRET_PARAM))?;
    let mut kept = params.clone();
    kept.remove(SECRET_PARAM);
    Some(Value::Object(kept))
}

/// A run's hold on its task: the claim's fencing token, and whether the
/// heartbeat found it superseded.
struct Lease {
    token: LeaseToken,
    lost: AtomicBool,
}

impl Lease {
    fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

/// Renews the lease every third of its length while the run lasts (it is
/// dropped with the run). Once the claim is found superseded it marks the
/// lease lost and stops: the step in flight still finishes — cutting a
/// hypervisor operation short would leave it half done — but the run
/// records nothing more.
async fn heartbeat(core: &Core, task_id: &str, lease: &Lease) {
    let period = core.config.engine.lease / 3;
    loop {
        tokio::time::sleep(period).await;
        match core.store.task_renew(task_id, lease.token, lease_end(core)).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(task = %task_id, "lease superseded by another claim; this run records nothing more");
                lease.lost.store(true, Ordering::Relaxed);
                return std::future::pending().await;
            }
            // The next beat tries again; the lease outlives two missed beats.
            Err(e) => tracing::warn!(task = %task_id, error = %e, "renewing the lease failed"),
        }
    }
}

/// One claimed task, run to its end or until the lease is lost.
struct Run<'a> {
    core: &'a Core,
    lease: &'a Lease,
    task: Task,
    kind: TaskKind,
    progress: Progress,
    /// The task's server as the steps last saw it: read once per run and
    /// kept current by the steps themselves.
    server: Option<ecs_types::server::Server>,
}

impl Run<'_> {
    fn started_events(&self) -> Vec<String> {
        self.progress.events.clone()
    }

    /// Records the step's outcome; false when another claim owns the task now.
    async fn record(&mut self, mut advance: TaskAdvance) -> bool {
        if self.lease.is_lost() {
            return false;
        }
        advance.progress = serde_json::to_value(&self.progress).expect("progress serializes");
        // A password travels to the host in the task's parameters; it does
        // not stay there once the task has ended.
        if advance.phase.is_some_and(TaskPhase::is_finished)
            && let Some(kept) = without_secret(&self.task.params)
        {
            advance.params = Some(kept);
        }
        match self.core.store.task_advance(&self.task.id, self.lease.token, lease_end(self.core), &advance).await {
            Ok(true) => {
                self.task.step = advance.step;
                if let Some(phase) = advance.phase.filter(|p| p.is_finished()) {
                    task_finished(self.core, &self.task, phase);
                }
                true
            }
            Ok(false) => {
                tracing::warn!(task = %self.task.id, "lease lost; another claim has the task");
                self.lease.lost.store(true, Ordering::Relaxed);
                false
            }
            Err(e) => {
                // The lease will run out and the step will be run again.
                tracing::warn!(task = %self.task.id, error = %e, "recording a step failed");
                false
            }
        }
    }
}

async fn run_task(core: &Core, ClaimedTask { task, token }: ClaimedTask) {
    let read = TaskParams::of(&task).and_then(|params| {
        let progress = match &task.progress {
            Value::Null => Ok(Progress::default()),
            stored => serde_json::from_value(stored.clone())
                .map_err(|e| format!("{} task {} has malformed progress: {e}", task.kind, task.id)),
        };
        Ok((params, progress?))
    });
    let (params, progress) = match read {
        Ok(read) => read,
        Err(why) => return refuse(core, task, token, why).await,
    };
    let span = tracing::info_span!("task", id = %task.id, kind = %task.kind, request_id = %task.request_id);
    let lease = Lease { token, lost: AtomicBool::new(false) };
    let task_id = task.id.clone();
    // Every hypervisor call of the run carries the claim's fence.
    let fence = ecs_hypervisor::fence::Fence { seq: task.seq, token: token.0 };
    let mut run = Run { core, lease: &lease, task, kind: params.kind(), progress, server: None };
    let work = ecs_hypervisor::fence::scope(fence, async move {
        with_saga!(&params, saga => match run.task.phase {
            TaskPhase::Pending | TaskPhase::Running => forward(&mut run, saga).await,
            TaskPhase::Unwinding => unwind(&mut run, saga).await,
            TaskPhase::Succeeded | TaskPhase::Failed => {}
        })
    });
    async {
        // The heartbeat never ends by itself: the run ending ends it.
        tokio::select! {
            () = work => {}
            () = heartbeat(core, &task_id, &lease) => {}
        }
    }
    .instrument(span)
    .await
}

/// Counts a task that ended, and how long it took from its queueing.
fn task_finished(core: &Core, task: &Task, phase: TaskPhase) {
    if let Some(metrics) = core.metrics() {
        let outcome = if phase == TaskPhase::Succeeded { "succeeded" } else { "failed" };
        let elapsed = (ecs_types::clock::now() - task.created_at).to_std().unwrap_or_default();
        metrics.task_finished(&task.kind, outcome, elapsed);
    }
}

/// Fails a task that cannot run (an unknown kind, parameters missing or
/// malformed): its server gets the kind's failure state and the message.
async fn refuse(core: &Core, task: Task, token: LeaseToken, why: String) {
    tracing::error!(task = %task.id, kind = %task.kind, %why, "task cannot run; failing it");
    let server = match (TaskKind::parse(&task.kind), &task.server_id) {
        (Some(kind), Some(id)) => kind.on_failure().update(&why, &why).map(|u| (id.clone(), u)),
        _ => None,
    };
    let progress = Progress {
        failure: Some(why.clone()),
        failure_reason: Some(TaskFailure::new(FailureKind::Other, why.clone())),
        failure_detail: Some(why.clone()),
        ..Default::default()
    };
    let advance = TaskAdvance {
        phase: Some(TaskPhase::Failed),
        step: 0,
        progress: serde_json::to_value(progress).expect("progress serializes"),
        message: Some(why),
        server,
        params: without_secret(&task.params),
        ..Default::default()
    };
    match core.store.task_advance(&task.id, token, lease_end(core), &advance).await {
        Ok(true) => task_finished(core, &task, TaskPhase::Failed),
        Ok(false) => {}
        Err(e) => tracing::warn!(task = %task.id, error = %e, "failing a task that cannot run failed"),
    }
}

/// Runs the steps from the recorded one to the end.
async fn forward<S: Saga>(run: &mut Run<'_>, saga: &S) {
    let steps = S::STEPS;
    // A completed step whose record waits for the next one.
    let mut carry: Option<TaskAdvance> = None;
    // How long to wait before asking an unanswering host again.
    let mut backoff = HOST_RETRY_FIRST;
    let mut waited = Duration::ZERO;
    while (run.task.step as usize) < steps.len() {
        // A step carried to the next record runs without a write between:
        // a lost lease is noticed here.
        if run.lease.is_lost() {
            return;
        }
        let index = run.task.step as usize;
        let step = steps[index];
        let event = saga.event(step);
        let mut advance = TaskAdvance { step: index as i64 + 1, ..Default::default() };
        let mut started = run.started_events();
        if !started.iter().any(|e| e == event) {
            advance.start_events.push((event.to_string(), None));
            started.push(event.to_string());
            run.progress.events = started;
        }
        crash_point(run.kind, index, "before");
        if run.server.is_none()
            && let Some(id) = &run.task.server_id
        {
            match run.core.store.server_get(id).await {
                Ok(server) => run.server = Some(server),
                Err(e) => {
                    tracing::warn!(error = %e, "reading the server failed; the lease will run out and it retries");
                    return;
                }
            }
        }
        let Some(server) = run.server.as_mut() else {
            return fail(run, saga, index, TaskFailure::new(FailureKind::Other, "task has no server"), None).await;
        };
        // `ecsd:fail-<action>` in the server's metadata fails the action as its host would.
        if index == 0
            && let Some(message) = super::metadata::injected_failure(&server.metadata, &run.task.kind)
        {
            let failure = TaskFailure::new(FailureKind::Hypervisor, message.clone());
            return fail(run, saga, index, failure, Some(message)).await;
        }
        let mut cx = StepContext { core: run.core, task: &run.task, progress: &mut run.progress };
        let outcome = saga.run(step, &mut cx, server).await;
        if outcome.is_err()
            && let Some(carried) = carry.take()
            && !run.record(carried).await
        {
            return;
        }
        match outcome {
            Ok(update) => {
                crash_point(run.kind, index, "after");
                advance.server = update.map(|u| (run.task.server_id.clone().unwrap_or_default(), u));
                let last_of_event = steps.get(index + 1).is_none_or(|next| saga.event(*next) != event);
                if last_of_event {
                    advance.finish_events.push((event.to_string(), "Success".into(), None));
                }
                if index + 1 == steps.len() {
                    advance.phase = Some(TaskPhase::Succeeded);
                }
                if let Some(earlier) = carry.take() {
                    advance = earlier.then(advance);
                }
                if !saga.recorded_alone(step) && index + 1 < steps.len() {
                    // Recorded with the next step: repeating it after a
                    // crash is harmless, and a write is saved.
                    run.task.step = advance.step;
                    carry = Some(advance);
                    continue;
                }
                if !run.record(advance).await {
                    return;
                }
            }
            Err(StepError::Reschedule(message)) if S::RESCHEDULES => {
                // Undo back to the schedule step and try another host.
                if !run.record(advance_with_starts(&advance, index as i64)).await {
                    return;
                }
                let attempts = run.progress.attempts.unwrap_or(1);
                if attempts >= run.core.config.max_build_attempts as i64 {
                    let failure = TaskFailure::new(FailureKind::NoValidHost, exhausted(&run.task, &message));
                    return fail(run, saga, index, failure, Some(message)).await;
                }
                tracing::info!(attempt = attempts, %message, "rescheduling");
                // Should no other host take it, the fault tells why this one failed.
                run.progress.last_failure = Some(message);
                run.server = None;
                for undo in steps[..=index].iter().rev() {
                    if run.lease.is_lost() {
                        return;
                    }
                    let mut cx = StepContext { core: run.core, task: &run.task, progress: &mut run.progress };
                    match saga.undo(*undo, &mut cx).await {
                        Ok(()) => {
                            if let Some(metrics) = run.core.metrics() {
                                metrics.step_undone(run.kind.as_str());
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "undo before rescheduling failed"),
                    }
                }
                run.progress.attempts = Some(attempts + 1);
                let advance = TaskAdvance { step: 0, ..Default::default() };
                if !run.record(advance).await {
                    return;
                }
            }
            Err(StepError::Reschedule(message)) => {
                return step_failed(run, saga, index, FailureKind::Hypervisor, message).await;
            }
            Err(StepError::Fatal(message)) => {
                return step_failed(run, saga, index, FailureKind::Other, message).await;
            }
            Err(StepError::Failed(failure)) => {
                return step_failed(run, saga, index, failure.kind, failure.message).await;
            }
            Err(StepError::Store(e)) => {
                tracing::warn!(error = %e, "step hit a database error; the lease will run out and it retries");
                return;
            }
            Err(StepError::HostUnavailable(host)) => {
                // Retry while the host may be up; give up once its service
                // is down (or it kept silent for longer than that would take).
                let patience = run.core.config.service_down_time * 2;
                if waited < patience && run.core.host_named_up(&host).await {
                    tracing::info!(%host, ?backoff, "host did not answer; retrying the step");
                    tokio::time::sleep(backoff).await;
                    waited += backoff;
                    backoff = (backoff * 2).min(HOST_RETRY_MAX);
                    run.server = None;
                    continue;
                }
                let message = crate::Error::from(crate::Conflict::HostUnavailable).to_string();
                return step_failed(run, saga, index, FailureKind::Hypervisor, message).await;
            }
        }
    }
}

/// The first and the longest wait before a step whose host did not answer
/// runs again.
const HOST_RETRY_FIRST: Duration = Duration::from_millis(250);
const HOST_RETRY_MAX: Duration = Duration::from_secs(5);

fn advance_with_starts(advance: &TaskAdvance, step: i64) -> TaskAdvance {
    TaskAdvance { step, start_events: advance.start_events.clone(), ..Default::default() }
}

/// Fails the task on step `failed`'s error. A build that failed on a host
/// and then found no other reports that host's failure (Nova's
/// MaxRetriesExceeded).
async fn step_failed<S: Saga>(run: &mut Run<'_>, saga: &S, failed: usize, kind: FailureKind, message: String) {
    match run.progress.last_failure.clone() {
        Some(last) if kind == FailureKind::NoValidHost => {
            let failure = TaskFailure::new(FailureKind::NoValidHost, exhausted(&run.task, &last));
            fail(run, saga, failed, failure, Some(last)).await
        }
        _ => fail(run, saga, failed, TaskFailure::new(kind, message.clone()), Some(message)).await,
    }
}

/// Starts unwinding after step `failed` failed: records the failure, then
/// undoes the completed steps.
async fn fail<S: Saga>(run: &mut Run<'_>, saga: &S, failed: usize, failure: TaskFailure, traceback: Option<String>) {
    tracing::warn!(step = failed, message = %failure.message, kind = ?failure.kind, "task failed; unwinding");
    if let Some(metrics) = run.core.metrics() {
        metrics.step_failed(run.kind.as_str());
    }
    run.progress.failure = Some(failure.message.clone());
    run.progress.failure_reason = Some(failure);
    run.progress.failure_detail = Some(traceback.clone().unwrap_or_default());
    let finish_events =
        run.started_events().into_iter().map(|e| (e, "Error".to_string(), traceback.clone())).collect::<Vec<_>>();
    // Steps before `failed` completed; the failed one may have half
    // happened, so it is undone too (undos are idempotent).
    let advance = TaskAdvance {
        phase: Some(TaskPhase::Unwinding),
        step: failed as i64 + 1,
        message: Some("Error".into()),
        finish_events,
        ..Default::default()
    };
    if run.record(advance).await {
        unwind(run, saga).await;
    }
}

/// Undoes recorded steps newest first, then applies the kind's failure state.
async fn unwind<S: Saga>(run: &mut Run<'_>, saga: &S) {
    while run.task.step > 0 {
        let index = (run.task.step - 1) as usize;
        let Some(step) = S::STEPS.get(index) else {
            // Recorded by another version of the saga: nothing known to undo.
            tracing::error!(step = index, "no such step to undo; skipping it");
            run.task.step -= 1;
            continue;
        };
        let mut cx = StepContext { core: run.core, task: &run.task, progress: &mut run.progress };
        if let Err(e) = saga.undo(*step, &mut cx).await {
            // An undo that cannot finish now (a host that is down) is
            // retried when the lease runs out; the reconciler also
            // removes guests that have no live server.
            tracing::warn!(step = index, error = %e, "undo failed; will retry");
            return;
        }
        if let Some(metrics) = run.core.metrics() {
            metrics.step_undone(run.kind.as_str());
        }
        let advance = TaskAdvance { step: index as i64, ..Default::default() };
        if !run.record(advance).await {
            return;
        }
    }
    let (failure, detail) = (&run.progress.failure, &run.progress.failure_detail);
    let update =
        run.kind.on_failure().update(failure.as_deref().unwrap_or_default(), detail.as_deref().unwrap_or_default());
    let advance = TaskAdvance {
        phase: Some(TaskPhase::Failed),
        step: 0,
        server: update.map(|u| (run.task.server_id.clone().unwrap_or_default(), u)),
        ..Default::default()
    };
    run.record(advance).await;
}
