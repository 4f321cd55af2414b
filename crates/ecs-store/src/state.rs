//! The whole store as data: every table's rows, read generically from the
//! schema (so a table added by a later migration is never forgotten), and
//! put back in one transaction. Used by the admin API's snapshots (kept in
//! memory) and by `ecsd state export/import` (a file).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Row, ValueRef};

use crate::{Backend, Store, StoreError, StoreResult};

/// sqlx's own bookkeeping of applied migrations: it describes the schema,
/// not the cloud, and is never dumped or restored.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Bound parameters per insert statement (SQLite allows 32,766; PostgreSQL 65,535).
const MAX_PARAMS: usize = 30_000;

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
    Bytes { hex: String },
}

/// One table's rows, in the order of its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRows {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Every table of the store, parents before the tables that refer to them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreDump {
    /// The last migration applied to the schema the rows come from.
    pub schema_version: i64,
    pub tables: Vec<TableRows>,
}

impl StoreDump {
    pub fn rows(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }

    pub fn table(&self, name: &str) -> Option<&TableRows> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// A column as the database declares it.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    /// The declared type, lower case (`bigint`, `text`, `json`, …).
    ty: String,
}

/// The tables of the schema, in an order where a table comes after those
/// it refers to, and their columns.
struct Schema {
    tables: Vec<(String, Vec<Column>)>,
}

/// Reports progress: (table, rows done in it, rows of it).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Send + Sync);

impl Store {
    /// The last migration applied (0 for a database never migrated).
    pub async fn schema_version(&self) -> StoreResult<i64> {
        let exists = self.table_names().await?.iter().any(|t| t == MIGRATIONS_TABLE);
        if !exists {
            return Ok(0);
        }
        let row = sqlx::query(&format!("SELECT MAX(version) AS v FROM {MIGRATIONS_TABLE} WHERE success"))
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("v")?.unwrap_or(0))
    }

    /// The newest migration this build of ecsd knows.
    pub fn latest_schema_version(&self) -> i64 {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.iter().map(|m| m.version).max().unwrap_or(0)
    }

    async fn table_names(&self) -> StoreResult<Vec<String>> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            Backend::Postgres => {
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&self.read).await?;
        rows.iter().map(|r| r.try_get::<String, _>("name").map_err(StoreError::from)).collect()
    }

    async fn schema(&self) -> StoreResult<Schema> {
        let mut names = self.table_names().await?;
        names.retain(|n| n != MIGRATIONS_TABLE);
        names.sort();
        // Foreign keys: (child, parent).
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS child, p.\"table\" AS parent FROM sqlite_master m \
                 JOIN pragma_foreign_key_list(m.name) p WHERE m.type = 'table'"
            }
            Backend::Postgres => {
                "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent \
                 FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
            }
        };
        let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for row in sqlx::query(sql).fetch_all(&self.read).await? {
            let child: String = row.try_get("child")?;
            let parent: String = row.try_get("parent")?;
            if child != parent {
                parents.entry(child).or_default().insert(parent);
            }
        }
        // Parents first; a cycle (none today) falls back to name order.
        let mut ordered: Vec<String> = Vec::with_capacity(names.len());
        let mut left: Vec<String> = names.clone();
        while !left.is_empty() {
            let ready: Vec<String> = left
                .iter()
                .filter(|t| {
                    parents.get(*t).is_none_or(|ps| ps.iter().all(|p| ordered.contains(p) || !names.contains(p)))
                })
                .cloned()
                .collect();
            let next = if ready.is_empty() { vec![left[0].clone()] } else { ready };
            left.retain(|t| !next.contains(t));
            ordered.extend(next);
        }
        let mut tables = Vec::with_capacity(ordered.len());
        for name in ordered {
            let sql = match self.backend {
                Backend::Sqlite => "SELECT name, type AS ty FROM pragma_table_info($1) ORDER BY cid",
                Backend::Postgres => {
                    "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS ty \
                     FROM pg_attribute a WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 \
                     AND NOT a.attisdropped ORDER BY a.attnum"
                }
            };
            let columns = sqlx::query(sql)
                .bind(&name)
                .fetch_all(&self.read)
                .await?
                .iter()
                .map(|r| {
                    Ok(Column { name: r.try_get("name")?, ty: r.try_get::<String, _>("ty")?.to_ascii_lowercase() })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            tables.push((name, columns));
        }
        Ok(Schema { tables })
    }

    /// Every row of every table, read in one transaction (a consistent
    /// picture while the service runs).
    pub async fn dump(&self, progress: Progress<'_>) -> StoreResult<StoreDump> {
        let schema = self.schema().await?;
        let schema_version = self.schema_version().await?;
        let mut tx = self.read.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
        }
        let mut tables = Vec::with_capacity(schema.tables.len());
        for (name, columns) in &schema.tables {
            let select = columns.iter().map(|c| self.select_expr(c)).collect::<Vec<_>>().join(", ");
            let rows = sqlx::query(&format!("SELECT {select} FROM {}", quote(name))).fetch_all(&mut *tx).await?;
            let rows = rows.iter().map(|r| cells(r, columns.len())).collect::<StoreResult<Vec<_>>>()?;
            progress(name, rows.len(), rows.len());
            tables.push(TableRows {
                name: name.clone(),
                columns: columns.iter().map(|c| c.name.clone()).collect(),
                rows,
            });
        }
        tx.commit().await?;
        Ok(StoreDump { schema_version, tables })
    }

    /// A column as the `Any` driver can read it: types it does not know
    /// (PostgreSQL's json, uuid, timestamps) as text.
    fn select_expr(&self, c: &Column) -> String {
        let name = quote(&c.name);
        match self.backend {
            Backend::Postgres if !pg_native(&c.ty) => format!("{name}::text AS {name}"),
            _ => name,
        }
    }

    /// Replaces every row of every table with `dump`'s, in one transaction:
    /// either all of it lands or nothing changes. The tables must be those
    /// of this schema (same version); a table or column of `dump` unknown
    /// here is an error, a column missing from `dump` takes its default.
    ///
    /// `verify`: check every foreign key before the commit (a file from
    /// elsewhere); a dump this store made itself is consistent already.
    pub async fn restore(&self, dump: &StoreDump, verify: bool, progress: Progress<'_>) -> StoreResult<()> {
        let schema = self.schema().await?;
        for table in &dump.tables {
            let Some((_, columns)) = schema.tables.iter().find(|(n, _)| *n == table.name) else {
                return Err(StoreError::Config(format!("the state has a table this database lacks: {}", table.name)));
            };
            if let Some(c) = table.columns.iter().find(|c| !columns.iter().any(|k| k.name == **c)) {
                return Err(StoreError::Config(format!(
                    "the state has a column this database lacks: {}.{c}",
                    table.name
                )));
            }
            if let Some(row) = table.rows.iter().find(|r| r.len() != table.columns.len()) {
                return Err(StoreError::Config(format!(
                    "a row of {} has {} values for {} columns",
                    table.name,
                    row.len(),
                    table.columns.len()
                )));
            }
        }
        let mut conn = self.write.acquire().await?;
        if self.backend == Backend::Sqlite {
            // Off for the whole replacement: checked row by row, deleting
            // every parent looks for its children in tables without an
            // index on the referring column (seconds for thousands of
            // servers). The pragma cannot change inside a transaction.
            sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
        }
        let replaced = self.replace_all(&mut conn, &schema, dump, verify, progress).await;
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
        }
        replaced
    }

    async fn replace_all(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        schema: &Schema,
        dump: &StoreDump,
        verify: bool,
        progress: Progress<'_>,
    ) -> StoreResult<()> {
        use sqlx::Acquire;
        let mut tx = conn.begin().await?;
        match self.backend {
            Backend::Sqlite => {
                for (name, _) in schema.tables.iter().rev() {
                    sqlx::query(&format!("DELETE FROM {}", quote(name))).execute(&mut *tx).await?;
                }
            }
            Backend::Postgres => {
                let all = schema.tables.iter().map(|(n, _)| quote(n)).collect::<Vec<_>>().join(", ");
                if !all.is_empty() {
                    sqlx::query(&format!("TRUNCATE {all}")).execute(&mut *tx).await?;
                }
            }
        }
        // Parents first, in the schema's order.
        for (name, columns) in &schema.tables {
            let Some(table) = dump.table(name) else { continue };
            if table.rows.is_empty() {
                progress(name, 0, 0);
                continue;
            }
            let types: Vec<&Column> =
                table.columns.iter().map(|c| columns.iter().find(|k| k.name == *c).expect("checked above")).collect();
            let per_batch = (MAX_PARAMS / table.columns.len().max(1)).max(1);
            let column_list = table.columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
            let mut done = 0;
            for batch in table.rows.chunks(per_batch) {
                let mut sql = format!("INSERT INTO {} ({column_list}) VALUES ", quote(name));
                let mut n = 0;
                for (i, _) in batch.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push('(');
                    for (j, column) in types.iter().enumerate() {
                        if j > 0 {
                            sql.push_str(", ");
                        }
                        n += 1;
                        match self.backend {
                            // Anonymous: SQLite looks `$N` up among the
                            // names seen so far (quadratic in a batch).
                            Backend::Sqlite => sql.push('?'),
                            Backend::Postgres => sql.push_str(&format!("${n}::{}", column.ty)),
                        }
                    }
                    sql.push(')');
                }
                let mut query = sqlx::query(&sql).persistent(false);
                for row in batch {
                    for (cell, column) in row.iter().zip(&types) {
                        query = self.bind_cell(query, cell, column);
                    }
                }
                query.execute(&mut *tx).await?;
                done += batch.len();
                progress(name, done, table.rows.len());
            }
        }
        if self.backend == Backend::Postgres {
            // Identity and serial columns go on after the highest id restored.
            let rows = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')",
            )
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let (t, c): (String, String) = (row.try_get("t")?, row.try_get("c")?);
                if t == MIGRATIONS_TABLE {
                    continue;
                }
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
                    quote(&c),
                    quote(&t)
                ))
                .bind(quote(&t))
                .bind(&c)
                .fetch_all(&mut *tx)
                .await?;
            }
        }
        if verify && self.backend == Backend::Sqlite {
            // (PostgreSQL checked every row as it went in.)
            let broken = sqlx::query("SELECT \"table\" AS t, parent AS p FROM pragma_foreign_key_check LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = broken {
                let (t, p): (String, String) = (row.try_get("t")?, row.try_get("p")?);
                return Err(StoreError::Config(format!("a row of {t} refers to a row of {p} that the state lacks")));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    fn bind_cell<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        cell: &Cell,
        column: &Column,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let boolean = column.ty == "boolean";
        match cell {
            // On PostgreSQL, typed by the cast in the statement.
            Cell::Null => query.bind(None::<String>),
            // A file from the other backend: booleans are 0/1 on SQLite.
            Cell::Bool(b) if self.backend == Backend::Sqlite => query.bind(i64::from(*b)),
            Cell::Bool(b) => query.bind(*b),
            Cell::Int(i) if boolean && self.backend == Backend::Postgres => query.bind(*i != 0),
            Cell::Int(i) => query.bind(*i),
            Cell::Real(f) => query.bind(*f),
            Cell::Text(s) => query.bind(s.clone()),
            Cell::Bytes { hex } => query.bind(from_hex(hex)),
        }
    }
}

/// Types the `Any` driver reads from PostgreSQL as they are.
fn pg_native(ty: &str) -> bool {
    matches!(ty, "bigint" | "integer" | "smallint" | "boolean" | "double precision" | "real" | "text" | "bytea")
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn cells(row: &AnyRow, n: usize) -> StoreResult<Vec<Cell>> {
    use sqlx::any::AnyTypeInfoKind as K;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            out.push(Cell::Null);
            continue;
        }
        let kind = raw.type_info().kind();
        let cell = match kind {
            K::Null => Cell::Null,
            K::Bool => Cell::Bool(row.try_get(i)?),
            K::SmallInt | K::Integer | K::BigInt => Cell::Int(row.try_get(i)?),
            K::Real | K::Double => Cell::Real(row.try_get(i)?),
            K::Text => Cell::Text(row.try_get(i)?),
            K::Blob => Cell::Bytes { hex: to_hex(&row.try_get::<Vec<u8>, _>(i)?) },
        };
        out.push(cell);
    }
    Ok(out)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_as_json() {
        let cells = vec![
            Cell::Null,
            Cell::Bool(true),
            Cell::Int(4),
            Cell::Real(4.0),
            Cell::Text("x".into()),
            Cell::Bytes { hex: "00ff".into() },
        ];
        let text = serde_json::to_string(&cells).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Cell>>(&text).unwrap(), cells);
        assert_eq!(from_hex(&to_hex(&[0, 1, 255])), vec![0, 1, 255]);
    }
}
