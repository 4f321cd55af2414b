//! Moves of a server between hosts: Nova's migration records.

use crate::Timestamp;

/// What kind of move a migration record is (Nova's `migration_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MigrationType {
    /// A cold migration: the same flavor on another host.
    Migration,
    Resize,
    LiveMigration,
    /// A rebuild on another host while the source is down.
    Evacuation,
}

impl MigrationType {
    pub const ALL: [MigrationType; 4] =
        [MigrationType::Migration, MigrationType::Resize, MigrationType::LiveMigration, MigrationType::Evacuation];

    pub fn as_str(self) -> &'static str {
        match self {
            MigrationType::Migration => "migration",
            MigrationType::Resize => "resize",
            MigrationType::LiveMigration => "live-migration",
            MigrationType::Evacuation => "evacuation",
        }
    }

    pub fn parse(s: &str) -> Option<MigrationType> {
        MigrationType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A migration's status, as Nova names them along each kind's way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MigrationStatus {
    /// Live: accepted, waiting for its task.
    Queued,
    /// Evacuation: accepted.
    Accepted,
    /// Live: the destination is getting ready.
    Preparing,
    /// Live: memory (and disks) are being copied.
    Running,
    /// Cold/resize: the destination is claimed.
    PreMigrating,
    /// Cold/resize: the guest is stopped and copied.
    Migrating,
    PostMigrating,
    /// Cold/resize: on the destination, waiting for confirm or revert.
    Finished,
    Confirming,
    Confirmed,
    Reverting,
    Reverted,
    /// Live: done.
    Completed,
    /// Evacuation: done.
    Done,
    /// Live: an abort was asked for and is under way.
    Cancelling,
    Cancelled,
    /// Failed before anything moved (the server stays where it was).
    Failed,
    /// Failed part way.
    Error,
}

impl MigrationStatus {
    pub const ALL: [MigrationStatus; 18] = [
        MigrationStatus::Queued,
        MigrationStatus::Accepted,
        MigrationStatus::Preparing,
        MigrationStatus::Running,
        MigrationStatus::PreMigrating,
        MigrationStatus::Migrating,
        MigrationStatus::PostMigrating,
        MigrationStatus::Finished,
        MigrationStatus::Confirming,
        MigrationStatus::Confirmed,
        MigrationStatus::Reverting,
        MigrationStatus::Reverted,
        MigrationStatus::Completed,
        MigrationStatus::Done,
        MigrationStatus::Cancelling,
        MigrationStatus::Cancelled,
        MigrationStatus::Failed,
        MigrationStatus::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MigrationStatus::Queued => "queued",
            MigrationStatus::Accepted => "accepted",
            MigrationStatus::Preparing => "preparing",
            MigrationStatus::Running => "running",
            MigrationStatus::PreMigrating => "pre-migrating",
            MigrationStatus::Migrating => "migrating",
            MigrationStatus::PostMigrating => "post-migrating",
            MigrationStatus::Finished => "finished",
            MigrationStatus::Confirming => "confirming",
            MigrationStatus::Confirmed => "confirmed",
            MigrationStatus::Reverting => "reverting",
            MigrationStatus::Reverted => "reverted",
            MigrationStatus::Completed => "completed",
            MigrationStatus::Done => "done",
            MigrationStatus::Cancelling => "cancelling",
            MigrationStatus::Cancelled => "cancelled",
            MigrationStatus::Failed => "failed",
            MigrationStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<MigrationStatus> {
        MigrationStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// A live migration in these may be shown, forced or aborted through
    /// `servers/{id}/migrations` (Nova's in-progress statuses).
    pub fn live_in_progress(self) -> bool {
        matches!(self, MigrationStatus::Queued | MigrationStatus::Preparing | MigrationStatus::Running)
    }
}

/// One move of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Nova's integer id.
    pub id: i64,
    pub uuid: String,
    pub server_id: String,
    pub task_id: Option<String>,
    pub project_id: String,
    pub user_id: String,
    pub migration_type: MigrationType,
    pub status: MigrationStatus,
    pub source_compute: Option<String>,
    pub source_node: Option<String>,
    pub dest_compute: Option<String>,
    pub dest_node: Option<String>,
    pub dest_host: Option<String>,
    pub old_flavor_id: String,
    pub new_flavor_id: String,
    pub memory_total: Option<i64>,
    pub memory_processed: Option<i64>,
    pub memory_remaining: Option<i64>,
    pub disk_total: Option<i64>,
    pub disk_processed: Option<i64>,
    pub disk_remaining: Option<i64>,
    /// A live move asked to finish now (Nova's force_complete).
    pub force_complete: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in MigrationType::ALL {
            assert_eq!(MigrationType::parse(t.as_str()), Some(t));
        }
        for s in MigrationStatus::ALL {
            assert_eq!(MigrationStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MigrationType::parse("cold"), None);
    }
}
