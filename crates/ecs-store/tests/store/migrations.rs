use ecs_store::Store;

use crate::both;

/// Migrating an up-to-date database again changes nothing and fails not.
async fn migrate_is_idempotent(store: Store) {
    store.migrate().await.expect("second migrate");
    assert!(store.project_list().await.unwrap().is_empty());
}
both!(migrate_is_idempotent);
