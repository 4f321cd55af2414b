//! The store's error type: what the core needs to tell apart, nothing more.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist. A delete (or an update of one row)
    /// that touched no row says so with this too: the caller read the row
    /// first, so it means a concurrent writer took it away in between.
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint refused the write; names what collided.
    #[error("already exists: {0}")]
    Conflict(String),
    /// A bad database URL or option.
    #[error("configuration: {0}")]
    Config(String),
    /// A row that cannot be turned into a record (a bug or a hand-edited DB).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Database(sqlx::Error),
}

/// PostgreSQL's SQLSTATE for a byte sequence its encoding cannot hold.
const NUL_IN_TEXT: &str = "22021";

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_string()),
            // PostgreSQL's text holds no NUL and refuses a parameter with one
            // (22021, "invalid byte sequence"): such a value names no row,
            // as SQLite answers too. (Text with a NUL to be stored is the
            // validators' to refuse before it gets here.)
            sqlx::Error::Database(db) if db.code().as_deref() == Some(NUL_IN_TEXT) => StoreError::NotFound,
            _ => StoreError::Database(e),
        }
    }
}
