//! `ecsd state export FILE` / `ecsd state import FILE`: a whole cloud in a
//! file — every table of the store and the simulated hosts' guests.
//!
//! The file is JSON lines: a header (format, ecsd's version, the schema
//! version: the last migration applied), then each table (a line naming it
//! and its columns, then one line per row), then each simulated host (a
//! line naming it, then one line per guest), then an end line with the
//! counts — a file cut short lacks it and is refused.

use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ecs_hypervisor::sim::SavedGuests;
use ecs_store::{Cell, Store, StoreDump, TableRows};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a file says it is.
pub const FORMAT: &str = "ecsd-state";
/// The layout of the file (not of the schema).
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    pub ecsd_version: String,
    /// The last migration applied to the database the rows come from.
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub exported_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableLine {
    table: String,
    columns: Vec<String>,
    rows: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostLine {
    host: String,
    guests: usize,
}

#[derive(Serialize, Deserialize, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
struct EndLine {
    end: Counts,
}

#[derive(Serialize, Deserialize, PartialEq, Eq, Debug, Clone, Copy, Default)]
pub struct Counts {
    pub tables: usize,
    pub rows: usize,
    pub guests: usize,
}

/// A bar on stderr when it is a terminal; hidden otherwise.
fn bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} {per_sec} {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// A byte counter for file copies (`ecsd image import`).
pub fn bytes_bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Copies `from` to `to` with a progress bar; returns the bytes copied.
pub fn copy_with_progress(from: &Path, to: &Path) -> anyhow::Result<u64> {
    let mut src = std::fs::File::open(from).with_context(|| format!("opening {}", from.display()))?;
    let len = src.metadata()?.len();
    let name = from.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bar = bytes_bar(len, &name);
    let mut dst = std::fs::File::create(to).with_context(|| format!("creating {}", to.display()))?;
    let copied = std::io::copy(&mut src, &mut bar.wrap_write(&mut dst))?;
    dst.sync_all()?;
    bar.finish_and_clear();
    Ok(copied)
}

fn backend_name(store: &Store) -> &'static str {
    match store.backend() {
        ecs_store::Backend::Sqlite => "sqlite",
        ecs_store::Backend::Postgres => "postgres",
    }
}

/// Writes the whole state of `store` (and the simulated hosts' journals
/// under `sim_dir`) to `file`, through a temporary file renamed at the end.
pub async fn export(store: &Store, sim_dir: &Path, file: &Path) -> anyhow::Result<Counts> {
    let reading = bar(0, "reading tables");
    let dump = store
        .dump(&|table, done, _| {
            reading.set_message(format!("reading {table}"));
            reading.inc_length(done as u64);
            reading.inc(done as u64);
        })
        .await
        .context("reading the database")?;
    reading.finish_and_clear();
    let guests = ecs_hypervisor::sim::read_journals(sim_dir)
        .with_context(|| format!("reading the simulated hosts under {}", sim_dir.display()))?;
    let header = Header {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        ecsd_version: env!("CARGO_PKG_VERSION").into(),
        schema_version: dump.schema_version,
        backend: backend_name(store).into(),
        exported_at: ecs_types::clock::now(),
    };
    let tmp = temporary(file);
    let counts = write_file(&tmp, &header, &dump, &guests).with_context(|| format!("writing {}", tmp.display()));
    let counts = match counts {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, file).with_context(|| format!("renaming {} to {}", tmp.display(), file.display()))?;
    Ok(counts)
}

fn temporary(file: &Path) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    file.with_file_name(name)
}

fn write_file(
    path: &Path,
    header: &Header,
    dump: &StoreDump,
    guests: &BTreeMap<String, SavedGuests>,
) -> anyhow::Result<Counts> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let line = |out: &mut BufWriter<std::fs::File>, value: &dyn erased::Ser| -> anyhow::Result<()> {
        value.write(out)?;
        out.write_all(b"\n")?;
        Ok(())
    };
    line(&mut out, header)?;
    let writing = bar(dump.rows() as u64, "writing rows");
    let mut counts = Counts::default();
    for table in &dump.tables {
        writing.set_message(format!("writing {}", table.name));
        line(
            &mut out,
            &TableLine { table: table.name.clone(), columns: table.columns.clone(), rows: table.rows.len() },
        )?;
        for row in &table.rows {
            line(&mut out, row)?;
            writing.inc(1);
        }
        counts.tables += 1;
        counts.rows += table.rows.len();
    }
    writing.finish_and_clear();
    for (host, saved) in guests {
        line(&mut out, &HostLine { host: host.clone(), guests: saved.len() })?;
        for record in saved.records() {
            line(&mut out, &record?)?;
        }
        counts.guests += saved.len();
    }
    line(&mut out, &EndLine { end: counts })?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(counts)
}

/// Serializing through a trait object, for the line writer.
mod erased {
    pub trait Ser {
        fn write(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()>;
    }

    impl<T: serde::Serialize> Ser for T {
        fn write(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()> {
            serde_json::to_writer(out, self)
        }
    }
}

/// A state file read whole (and checked) into memory.
pub struct StateFile {
    pub header: Header,
    pub dump: StoreDump,
    pub guests: BTreeMap<String, SavedGuests>,
    pub counts: Counts,
}

/// Reads and checks `file`: a file that is not a state file, is cut short
/// or has a line that does not parse is refused, naming the line.
pub fn read(file: &Path) -> anyhow::Result<StateFile> {
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let len = f.metadata()?.len();
    let reading = bar(len, "reading the file");
    let mut lines = std::io::BufReader::new(reading.wrap_read(f)).lines().enumerate();
    let mut next = |what: &str| -> anyhow::Result<(usize, String)> {
        match lines.next() {
            Some((i, Ok(line))) => Ok((i + 1, line)),
            Some((i, Err(e))) => bail!("{}: line {}: {e}", file.display(), i + 1),
            None => bail!("{}: the file ends early (expected {what}): it is truncated", file.display()),
        }
    };
    let (n, first) = next("the header")?;
    let header: Header =
        serde_json::from_str(&first).ok().filter(|h: &Header| h.format == FORMAT).ok_or_else(|| {
            anyhow::anyhow!("{}: line {n}: not an ecsd state file (no ecsd-state header)", file.display())
        })?;
    if header.format_version != FORMAT_VERSION {
        bail!(
            "{}: state file format version {} (this ecsd {} reads version {FORMAT_VERSION})",
            file.display(),
            header.format_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    let bad = |n: usize, e: &dyn std::fmt::Display| anyhow::anyhow!("{}: line {n}: {e}", file.display());
    let mut tables = Vec::new();
    let mut guests = BTreeMap::new();
    let mut counts = Counts::default();
    loop {
        let (n, line) = next("a table, a host or the end")?;
        let value: Value = serde_json::from_str(&line).map_err(|e| bad(n, &e))?;
        if value.get("end").is_some() {
            let end: EndLine = serde_json::from_value(value).map_err(|e| bad(n, &e))?;
            if end.end != counts {
                bail!("{}: line {n}: the end line counts {:?}, the file holds {:?}", file.display(), end.end, counts);
            }
            break;
        } else if value.get("table").is_some() {
            let t: TableLine = serde_json::from_value(value).map_err(|e| bad(n, &e))?;
            let mut rows = Vec::with_capacity(t.rows);
            for _ in 0..t.rows {
                let (n, line) = next(&format!("a row of {}", t.table))?;
                let row: Vec<Cell> = serde_json::from_str(&line).map_err(|e| bad(n, &e))?;
                if row.len() != t.columns.len() {
                    bail!(
                        "{}: line {n}: {} values for the {} columns of {}",
                        file.display(),
                        row.len(),
                        t.columns.len(),
                        t.table
                    );
                }
                rows.push(row);
            }
            counts.tables += 1;
            counts.rows += rows.len();
            tables.push(TableRows { name: t.table, columns: t.columns, rows });
        } else if value.get("host").is_some() {
            let h: HostLine = serde_json::from_value(value).map_err(|e| bad(n, &e))?;
            let mut records = Vec::with_capacity(h.guests);
            for _ in 0..h.guests {
                let (n, line) = next(&format!("a guest of {}", h.host))?;
                records.push(serde_json::from_str::<Value>(&line).map_err(|e| bad(n, &e))?);
            }
            let saved = SavedGuests::from_records(records)
                .map_err(|e| anyhow::anyhow!("{}: a guest of host {}: {e}", file.display(), h.host))?;
            counts.guests += saved.len();
            guests.insert(h.host, saved);
        } else {
            bail!("{}: line {n}: neither a table, a host nor the end", file.display());
        }
    }
    reading.finish_and_clear();
    Ok(StateFile { dump: StoreDump { schema_version: header.schema_version, tables }, header, guests, counts })
}

/// Replaces the whole state of `store` with `state`'s, in one transaction;
/// the simulated hosts' journals under `sim_dir` are written after the
/// commit (each a temporary file renamed over the journal). `fresh`: the
/// database was just created (no migration applied), so a file of an
/// older schema can be imported into that schema and migrated on.
pub async fn import(store: &Store, sim_dir: &Path, state: &StateFile, fresh: bool) -> anyhow::Result<()> {
    let file_version = state.header.schema_version;
    let versions = store.schema_versions();
    let latest = versions.iter().copied().max().unwrap_or(0);
    let older_known = file_version < latest && versions.contains(&file_version);
    if fresh && older_known {
        store.migrate_to(file_version).await.context("applying the file's migrations")?;
    } else {
        if fresh {
            store.migrate().await.context("applying migrations")?;
        }
        let current = store.schema_version().await?;
        if file_version != current {
            let how = if older_known { " (import it into a new, empty database to have it migrated)" } else { "" };
            bail!(
                "the state file is of schema version {file_version} (ecsd {}), the database is at schema version \
                 {current} (ecsd {}): refusing to import{how}",
                state.header.ecsd_version,
                env!("CARGO_PKG_VERSION"),
            );
        }
    }
    let restoring = bar(state.counts.rows as u64, "restoring rows");
    let done = std::sync::atomic::AtomicUsize::new(0);
    let last = std::sync::Mutex::new(BTreeMap::<String, usize>::new());
    store
        .restore(&state.dump, true, &|table, rows, _| {
            let mut last = last.lock().expect("progress lock");
            let before = last.insert(table.to_string(), rows).unwrap_or(0);
            let total = done.fetch_add(rows - before, std::sync::atomic::Ordering::Relaxed) + rows - before;
            restoring.set_message(format!("restoring {table}"));
            restoring.set_position(total as u64);
        })
        .await
        .context("importing into the database (nothing was changed)")?;
    restoring.finish_and_clear();
    if fresh && older_known {
        store.migrate().await.context("migrating the imported state to this ecsd's schema")?;
    }
    ecs_hypervisor::sim::write_journals(sim_dir, &state.guests)
        .with_context(|| format!("writing the simulated hosts' guests under {}", sim_dir.display()))?;
    Ok(())
}
