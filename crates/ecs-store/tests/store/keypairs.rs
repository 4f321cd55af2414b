use ecs_store::{KeypairCreate, KeypairInsertRefusal, Store, StoreError};
use ecs_types::{KeypairType, User};

use crate::both;

async fn user(store: &Store, name: &str) -> String {
    let u = User {
        id: ecs_types::new_hex_id(),
        name: name.into(),
        domain_id: "default".into(),
        password_hash: "x".into(),
        default_project_id: None,
        enabled: true,
    };
    store.user_create(&u).await.unwrap();
    u.id
}

fn key(user_id: &str, name: &str) -> KeypairCreate {
    KeypairCreate {
        user_id: user_id.into(),
        name: name.into(),
        key_type: KeypairType::Ssh,
        public_key: "ssh-rsa AAAA".into(),
        fingerprint: "00:11".into(),
    }
}

async fn create_list_delete(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    for name in ["c", "a", "b"] {
        store.keypair_create(&key(&alice, name), 100).await.unwrap().unwrap();
    }
    assert_eq!(store.keypair_create(&key(&alice, "a"), 100).await.unwrap(), Err(KeypairInsertRefusal::Exists));
    // Names are per user.
    store.keypair_create(&key(&bob, "a"), 100).await.unwrap().unwrap();

    let names = |v: Vec<ecs_types::Keypair>| v.into_iter().map(|k| k.name).collect::<Vec<_>>();
    assert_eq!(names(store.keypair_list(&alice, None, None).await.unwrap()), ["a", "b", "c"]);
    assert_eq!(names(store.keypair_list(&alice, Some(2), None).await.unwrap()), ["a", "b"]);
    assert_eq!(names(store.keypair_list(&alice, Some(2), Some("b")).await.unwrap()), ["c"]);
    assert!(matches!(store.keypair_list(&alice, None, Some("zz")).await, Err(StoreError::NotFound)));

    let k = store.keypair_get(&alice, "b").await.unwrap();
    assert_eq!((k.key_type, k.fingerprint.as_str()), (KeypairType::Ssh, "00:11"));
    store.keypair_delete(&alice, "b").await.unwrap();
    assert!(matches!(store.keypair_get(&alice, "b").await, Err(StoreError::NotFound)));
    assert!(matches!(store.keypair_delete(&alice, "b").await, Err(StoreError::NotFound)));
    assert_eq!(store.keypair_list(&bob, None, None).await.unwrap().len(), 1);
}
both!(create_list_delete);

/// Concurrent creates never overshoot the quota.
async fn quota_holds_under_concurrency(store: Store) {
    let alice = user(&store, "alice").await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = store.clone();
            let alice = alice.clone();
            tokio::spawn(async move { store.keypair_create(&key(&alice, &format!("k{i}")), 10).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(refusal) => assert_eq!(refusal, KeypairInsertRefusal::OverQuota),
        }
    }
    assert_eq!(created, 10);
    assert_eq!(store.keypair_list(&alice, None, None).await.unwrap().len(), 10);
}
both!(quota_holds_under_concurrency);
