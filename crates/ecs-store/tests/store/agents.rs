//! Hosts run by agents: registered with their agents' URLs, listed for
//! the API nodes to drive.

use ecs_store::{HostAgent, HostRegistration, Store};

use crate::both;

fn registration(name: &str) -> HostRegistration {
    HostRegistration {
        name: name.into(),
        driver: "sim".into(),
        availability_zone: "nova".into(),
        vcpus: 8,
        ram_mb: 4096,
        disk_gb: 100,
        cpu_ratio: 4.0,
        ram_ratio: 1.0,
        disk_ratio: 1.0,
    }
}

async fn agents_register_their_hosts(store: Store) {
    // A host driven in process has no agent.
    store.host_register(&registration("local")).await.unwrap();
    assert_eq!(store.host_agent_url("local").await.unwrap(), None);
    assert_eq!(store.host_agent_url("nowhere").await.unwrap(), None);

    let h1 = store.host_register_agent(&registration("h1"), "http://10.0.0.21:8776").await.unwrap();
    store.host_register_agent(&registration("h2"), "http://10.0.0.22:8776").await.unwrap();
    // Moving an agent keeps the host (and its id).
    let again = store.host_register_agent(&registration("h1"), "http://10.0.0.31:8776").await.unwrap();
    assert_eq!(again.id, h1.id);
    assert_eq!(store.host_agent_url("h1").await.unwrap().as_deref(), Some("http://10.0.0.31:8776"));
    let agent = |name: &str, url: &str| HostAgent { name: name.into(), driver: "sim".into(), url: url.into() };
    assert_eq!(
        store.host_agents().await.unwrap(),
        [agent("h1", "http://10.0.0.31:8776"), agent("h2", "http://10.0.0.22:8776")]
    );
}
both!(agents_register_their_hosts);
