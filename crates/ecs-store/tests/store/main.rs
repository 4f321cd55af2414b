//! The store conformance suite: every test runs on SQLite and on
//! PostgreSQL (`both!`), each on a fresh database.

// Tests may read the real time and draw OS ids directly (clippy.toml bans
// it in the service: there they go through ecs_types::clock and ::random).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod agents;
mod flavors;
mod hosts;
mod identity;
mod keypairs;
mod migrations;
mod tasks;

use ecs_store::Store;
use ecs_test_utils::TestDb;

/// A migrated store on a fresh database, and the database's guard.
pub async fn store_on(db: TestDb) -> (Store, TestDb) {
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (store, db)
}

/// Declares `sqlite` and `postgres` tests running `$body(store)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, _db) = $crate::store_on(ecs_test_utils::sqlite()).await;
                super::$name(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (store, _db) = $crate::store_on(ecs_test_utils::postgres().await).await;
                super::$name(store).await;
            }
        }
    };
}
