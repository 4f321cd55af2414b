//! What `/metrics` shows: one registry per process, held by the [`Core`],
//! into which the HTTP layer, the task engine, the scheduler and the
//! hypervisor drivers record; and the gauges read from the database when
//! it is scraped (servers by state, hosts' capacity and usage, the task
//! queue), which every API node sees alike.
//!
//! Rendered in the OpenMetrics text format (which Prometheus scrapes) by
//! the Prometheus project's client, `prometheus-client`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::Core;

/// The content type of [`Core::metrics_render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request that matched no route: never the raw path.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    driver: String,
    op: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabel {
    driver: String,
    op: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    vm_state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabel {
    host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    state: String,
}

/// Request latencies: 0.5 ms to ~16 s.
fn http_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Task and hypervisor latencies: 1 ms to ~9 min.
fn work_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

/// The process's metrics. Counters and histograms are recorded as things
/// happen; the database's gauges are read at each scrape.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    tasks: Family<TaskLabels, Counter>,
    task_duration: Family<TaskLabels, Histogram, fn() -> Histogram>,
    steps_failed: Family<KindLabel, Counter>,
    steps_undone: Family<KindLabel, Counter>,
    scheduler_decisions: Family<OutcomeLabel, Counter>,
    scheduler_duration: Histogram,
    hypervisor_ops: Family<OpLabels, Counter>,
    hypervisor_duration: Family<OpLabel, Histogram, fn() -> Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ecsd");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route template, method and status", http_requests.clone());
        let http_duration = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(http_buckets);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by route template and method",
            Unit::Seconds,
            http_duration.clone(),
        );
        let tasks = Family::<TaskLabels, Counter>::default();
        registry.register("tasks", "Tasks finished, by kind and outcome (succeeded, failed)", tasks.clone());
        let task_duration = Family::<TaskLabels, Histogram, fn() -> Histogram>::new_with_constructor(work_buckets);
        registry.register_with_unit(
            "task_duration",
            "Time from a task's queueing to its end, by kind and outcome",
            Unit::Seconds,
            task_duration.clone(),
        );
        let steps_failed = Family::<KindLabel, Counter>::default();
        registry.register(
            "task_steps_failed",
            "Task steps that failed (the task then unwinds), by kind",
            steps_failed.clone(),
        );
        let steps_undone = Family::<KindLabel, Counter>::default();
        registry.register(
            "task_steps_undone",
            "Task steps undone while unwinding or rescheduling, by kind",
            steps_undone.clone(),
        );
        let scheduler_decisions = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "scheduler_decisions",
            "Scheduler decisions by outcome (placed, no_valid_host, error)",
            scheduler_decisions.clone(),
        );
        let scheduler_duration = work_buckets();
        registry.register_with_unit(
            "scheduler_decision_duration",
            "Time to choose a host and claim on it",
            Unit::Seconds,
            scheduler_duration.clone(),
        );
        let hypervisor_ops = Family::<OpLabels, Counter>::default();
        registry.register(
            "hypervisor_operations",
            "Hypervisor driver calls by driver, operation and outcome (ok, error)",
            hypervisor_ops.clone(),
        );
        let hypervisor_duration = Family::<OpLabel, Histogram, fn() -> Histogram>::new_with_constructor(work_buckets);
        registry.register_with_unit(
            "hypervisor_operation_duration",
            "Time a hypervisor driver call takes, by driver and operation",
            Unit::Seconds,
            hypervisor_duration.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_duration,
            tasks,
            task_duration,
            steps_failed,
            steps_undone,
            scheduler_decisions,
            scheduler_duration,
            hypervisor_ops,
            hypervisor_duration,
        }
    }

    /// One HTTP request answered. `route` is the route's template (or
    /// [`UNMATCHED_ROUTE`]), never a path as sent.
    pub fn http_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let route = route.to_string();
        let method = method.to_string();
        self.http_duration
            .get_or_create(&RouteLabels { route: route.clone(), method: method.clone() })
            .observe(elapsed.as_secs_f64());
        self.http_requests.get_or_create(&HttpLabels { route, method, status }).inc();
    }

    /// A task ended: `outcome` is `succeeded` or `failed`.
    pub fn task_finished(&self, kind: &str, outcome: &str, elapsed: Duration) {
        let labels = TaskLabels { kind: kind.to_string(), outcome: outcome.to_string() };
        self.task_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
        self.tasks.get_or_create(&labels).inc();
    }

    pub fn step_failed(&self, kind: &str) {
        self.steps_failed.get_or_create(&KindLabel { kind: kind.to_string() }).inc();
    }

    pub fn step_undone(&self, kind: &str) {
        self.steps_undone.get_or_create(&KindLabel { kind: kind.to_string() }).inc();
    }

    /// A scheduler decision: `placed`, `no_valid_host` or `error`.
    pub fn scheduler_decision(&self, outcome: &str, elapsed: Duration) {
        self.scheduler_duration.observe(elapsed.as_secs_f64());
        self.scheduler_decisions.get_or_create(&OutcomeLabel { outcome: outcome.to_string() }).inc();
    }

    /// A hypervisor driver call.
    pub fn hypervisor_op(&self, driver: &str, op: &str, ok: bool, elapsed: Duration) {
        let (driver, op) = (driver.to_string(), op.to_string());
        self.hypervisor_duration
            .get_or_create(&OpLabel { driver: driver.clone(), op: op.clone() })
            .observe(elapsed.as_secs_f64());
        let outcome = if ok { "ok" } else { "error" }.to_string();
        self.hypervisor_ops.get_or_create(&OpLabels { driver, op, outcome }).inc();
    }
}

impl Core {
    /// The metrics this process records into, unless instrumentation is off.
    pub fn metrics(&self) -> Option<&Arc<Metrics>> {
        self.metrics.as_ref()
    }

    /// The text `/metrics` answers: the recorded metrics and the gauges
    /// read from the database now. None when instrumentation is off.
    pub async fn metrics_render(&self) -> crate::Result<Option<String>> {
        let Some(metrics) = &self.metrics else { return Ok(None) };
        let scraped = self.scraped_gauges().await?;
        let mut text = String::with_capacity(16 * 1024);
        let encode = |text: &mut String| -> std::fmt::Result {
            prometheus_client::encoding::text::encode_registry(text, &metrics.registry)?;
            prometheus_client::encoding::text::encode_registry(text, &scraped)?;
            prometheus_client::encoding::text::encode_eof(text)
        };
        encode(&mut text).map_err(|e| crate::Error::internal(format!("rendering metrics: {e}")))?;
        Ok(Some(text))
    }

    /// Servers by state, hosts' capacity and usage, the task queue: a few
    /// aggregate queries, in a registry of their own made per scrape.
    async fn scraped_gauges(&self) -> crate::Result<Registry> {
        let mut registry = Registry::with_prefix("ecsd");
        let servers = Family::<StateLabel, Gauge>::default();
        for (vm_state, n) in self.store.servers_by_vm_state().await? {
            servers.get_or_create(&StateLabel { vm_state }).set(n);
        }
        registry.register("servers", "Servers not deleted, by vm_state", servers);

        let hosts = self.store.host_list().await?;
        let gauge = |registry: &mut Registry,
                     name: &str,
                     help: &str,
                     unit: Option<Unit>,
                     value: &dyn Fn(&ecs_types::server::ComputeHost) -> i64| {
            let family = Family::<HostLabel, Gauge>::default();
            for h in &hosts {
                family.get_or_create(&HostLabel { host: h.name.clone() }).set(value(h));
            }
            match unit {
                Some(unit) => registry.register_with_unit(name, help, unit, family),
                None => registry.register(name, help, family),
            }
        };
        const MIB: i64 = 1024 * 1024;
        const GIB: i64 = 1024 * MIB;
        gauge(&mut registry, "host_vcpus", "A host's physical vCPUs", None, &|h| h.vcpus);
        gauge(&mut registry, "host_vcpus_used", "vCPUs claimed on a host by its servers", None, &|h| h.used_vcpus);
        gauge(&mut registry, "host_memory", "A host's RAM", Some(Unit::Bytes), &|h| h.ram_mb * MIB);
        gauge(&mut registry, "host_memory_used", "RAM claimed on a host", Some(Unit::Bytes), &|h| h.used_ram_mb * MIB);
        gauge(&mut registry, "host_disk", "A host's disk", Some(Unit::Bytes), &|h| h.disk_gb * GIB);
        gauge(&mut registry, "host_disk_used", "Disk claimed on a host", Some(Unit::Bytes), &|h| h.used_disk_gb * GIB);
        gauge(&mut registry, "host_servers", "Servers placed on a host", None, &|h| h.running_vms);
        gauge(&mut registry, "host_up", "1 if a host's service is up and enabled, else 0", None, &|h| {
            i64::from(h.enabled && self.host_is_up(h))
        });

        let queue = self.store.task_queue().await?;
        let depth = Family::<QueueLabel, Gauge>::default();
        depth.get_or_create(&QueueLabel { state: "waiting".into() }).set(queue.waiting);
        depth.get_or_create(&QueueLabel { state: "running".into() }).set(queue.running);
        registry.register("task_queue_depth", "Unfinished tasks: waiting for a worker, or running", depth);
        let age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        if let Some(oldest) = queue.oldest_waiting {
            age.set((ecs_types::clock::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0);
        }
        registry.register_with_unit(
            "task_oldest_waiting_age",
            "How long the oldest waiting task has waited (0 when none waits)",
            Unit::Seconds,
            age,
        );
        Ok(registry)
    }
}

/// A hypervisor driver that records every call into [`Metrics`].
pub(crate) mod metered;

impl Core {
    /// Why this process cannot serve yet, if it cannot: the database
    /// unreachable, migrations not applied, the task engine not running.
    pub async fn readiness(&self) -> std::result::Result<(), String> {
        self.store.readiness().await?;
        if !self.engine_running.load(std::sync::atomic::Ordering::Relaxed) {
            return Err("the task engine is not running".into());
        }
        Ok(())
    }
}

/// Measures from now.
pub(crate) fn timed() -> Instant {
    Instant::now()
}
