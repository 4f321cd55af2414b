use ecs_store::{Store, StoreError};
use ecs_types::{Project, Role, RoleAssignment, TokenRecord, User};

use crate::both;

fn project(name: &str) -> Project {
    Project {
        id: ecs_types::new_hex_id(),
        name: name.into(),
        domain_id: "default".into(),
        description: String::new(),
        enabled: true,
    }
}

fn user(name: &str, project: Option<&str>) -> User {
    User {
        id: ecs_types::new_hex_id(),
        name: name.into(),
        domain_id: "default".into(),
        password_hash: "$argon2id$fake".into(),
        default_project_id: project.map(String::from),
        enabled: true,
    }
}

async fn projects_users_roles(store: Store) {
    let p = project("alpha");
    store.project_create(&p).await.unwrap();
    assert!(matches!(store.project_create(&project("alpha")).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.project_get(&p.id).await.unwrap(), p);
    assert_eq!(store.project_get_by_name("default", "alpha").await.unwrap().id, p.id);
    assert!(matches!(store.project_get("nope").await, Err(StoreError::NotFound)));

    let u = user("alice", Some(&p.id));
    store.user_create(&u).await.unwrap();
    assert_eq!(store.user_get(&u.id).await.unwrap(), u);
    assert!(matches!(store.user_create(&user("alice", None)).await, Err(StoreError::Conflict(_))));

    let r = Role::named(ecs_types::new_hex_id(), "member");
    store.role_create(&r).await.unwrap();
    let a = RoleAssignment { user_id: u.id.clone(), project_id: p.id.clone(), role_id: r.id.clone() };
    store.role_assignment_add(&a).await.unwrap();
    store.role_assignment_add(&a).await.unwrap(); // granting twice is fine
    assert_eq!(store.roles_for(&u.id, &p.id).await.unwrap(), vec![r.clone()]);
    assert_eq!(store.project_list_for_user(&u.id).await.unwrap(), vec![p.clone()]);
    assert_eq!(store.role_assignment_list(Some(&u.id), None).await.unwrap(), vec![a.clone()]);
    assert!(store.role_assignment_list(None, Some("other")).await.unwrap().is_empty());

    store.role_assignment_remove(&a).await.unwrap();
    assert!(matches!(store.role_assignment_remove(&a).await, Err(StoreError::NotFound)));
    assert!(store.roles_for(&u.id, &p.id).await.unwrap().is_empty());

    // Deleting the project clears the user's default project.
    store.project_delete(&p.id).await.unwrap();
    assert_eq!(store.user_get(&u.id).await.unwrap().default_project_id, None);
    store.user_delete(&u.id).await.unwrap();
    assert!(matches!(store.user_delete(&u.id).await, Err(StoreError::NotFound)));
}
both!(projects_users_roles);

async fn tokens(store: Store) {
    let u = user("bob", None);
    store.user_create(&u).await.unwrap();
    let now = chrono::Utc::now();
    let live = TokenRecord {
        id_hash: "h1".into(),
        user_id: u.id.clone(),
        project_id: None,
        methods: vec!["password".into(), "token".into()],
        audit_id: "a1".into(),
        issued_at: now,
        expires_at: now + chrono::Duration::hours(24),
        revoked: false,
        application_credential_id: None,
    };
    let stale = TokenRecord { id_hash: "h2".into(), expires_at: now - chrono::Duration::seconds(1), ..live.clone() };
    store.token_insert(&live).await.unwrap();
    store.token_insert(&stale).await.unwrap();
    let got = store.token_get("h1").await.unwrap();
    assert_eq!(got.methods, live.methods);
    assert_eq!(got.expires_at.timestamp_micros(), live.expires_at.timestamp_micros());
    assert!(!got.revoked);
    store.token_revoke("h1").await.unwrap();
    assert!(store.token_get("h1").await.unwrap().revoked);
    assert_eq!(store.token_purge_expired(now).await.unwrap(), 1);
    assert!(matches!(store.token_get("h2").await, Err(StoreError::NotFound)));
}
both!(tokens);
