//! End-to-end tests of ecsd over HTTP: each test starts a real server on a
//! random port over a fresh database and drives it with an HTTP client.
//! Tests declared with `both!` run on SQLite and on PostgreSQL.

// Tests may read the real time and draw OS ids directly (clippy.toml bans
// it in the service: there they go through ecs_types::clock and ::random).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod admin;
mod agents;
mod aggregates;
mod app_credentials;
mod cinder;
mod clock;
mod cluster;
mod compat;
mod console;
mod consoles;
mod credentials;
mod determinism;
mod ecs;
mod ecs_actions;
mod ecs_create;
mod ecs_edits;
mod ecs_jobs;
mod ecs_ops;
mod ecs_ops2;
mod ecs_views;
mod eip;
mod errors;
mod evs;
mod fields;
mod flavors;
mod formats;
mod fuzz;
mod glance;
mod harness;
mod identity;
mod images;
mod ims;
mod interfaces;
mod keypairs;
mod keys;
mod leases;
mod lifecycle;
mod metadata;
mod metrics;
mod moves;
mod netsec;
mod neutron;
mod openapi;
mod operator;
mod process;
mod qemu;
mod races;
mod reader;
mod recovery;
mod routes;
mod scenarios;
mod security_groups;
mod server_actions;
mod servers;
mod services;
mod snapshots;
mod sweep;
mod transport;
mod unknown_paths;
mod validation;
mod versions;
mod volumes;
mod vpc;

/// A public key for tests that need one.
pub fn keypairs_vector() -> &'static str {
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH6EBhTXPKGeZhVZ2FiHHH+ltZmKJBnyIXYsPD7HBVDY test@ecsd"
}

pub use harness::{Reply, Session, TestServer, assert_ecs_error};

/// Declares `sqlite` and `postgres` tests running `$body(server)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = $crate::TestServer::start(ecs_test_utils::sqlite()).await;
                super::$name(&server).await;
                server.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let server = $crate::TestServer::start(ecs_test_utils::postgres().await).await;
                super::$name(&server).await;
                server.stop().await;
            }
        }
    };
}
