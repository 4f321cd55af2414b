//! Host aggregates: named groups of compute hosts with metadata.

use std::collections::BTreeMap;

use crate::Timestamp;

/// The metadata key that puts an aggregate's hosts in an availability zone.
pub const AZ_KEY: &str = "availability_zone";
/// Nova's AggregateMultiTenancyIsolation: only these projects (comma
/// separated; keys `filter_tenant_id*`) may place servers on the hosts.
pub const TENANT_KEY_PREFIX: &str = "filter_tenant_id";
/// ecsd's dedicated hosts (ECS DeH): the hosts belong to this project,
/// which places on them only with `tenancy: dedicated`, and nobody else
/// places on them.
pub const DEDICATED_KEY: &str = "dedicated_project_id";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// Nova's integer id (never reused).
    pub id: i64,
    pub uuid: String,
    pub name: String,
    /// Host names, sorted.
    pub hosts: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

impl Aggregate {
    pub fn availability_zone(&self) -> Option<&str> {
        self.metadata.get(AZ_KEY).map(String::as_str)
    }

    /// The projects a `filter_tenant_id*` key admits, if any key is set.
    pub fn tenants(&self) -> Option<Vec<&str>> {
        let mut keys = self.metadata.iter().filter(|(k, _)| k.starts_with(TENANT_KEY_PREFIX)).peekable();
        keys.peek()?;
        Some(keys.flat_map(|(_, v)| v.split(',').map(str::trim).filter(|t| !t.is_empty())).collect())
    }

    /// The project the aggregate's hosts are dedicated to.
    pub fn dedicated_project(&self) -> Option<&str> {
        self.metadata.get(DEDICATED_KEY).map(String::as_str)
    }
}
