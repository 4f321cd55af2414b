//! Timestamps are stored as microseconds since the epoch on both backends.

use ecs_types::Timestamp;

use crate::StoreError;

pub(crate) fn to_db(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_db(micros: i64) -> Result<Timestamp, StoreError> {
    chrono::DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp out of range: {micros}")))
}
