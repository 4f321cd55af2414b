use std::collections::BTreeMap;

use ecs_store::{FlavorListQuery, FlavorSortKey, SortDir, Store, StoreError};
use ecs_types::FlavorSpec;

use crate::both;

fn spec(id: &str, vcpus: i64, ram_mb: i64, public: bool) -> FlavorSpec {
    FlavorSpec {
        id: id.into(),
        name: format!("name-{id}"),
        vcpus,
        ram_mb,
        disk_gb: 10,
        ephemeral_gb: 0,
        swap_mb: 0,
        rxtx_factor: 1.5,
        is_public: public,
        description: None,
        extra_specs: BTreeMap::from([("ecs:generation".to_string(), "s3".to_string())]),
    }
}

fn query() -> FlavorListQuery {
    FlavorListQuery {
        is_public: None,
        include_disabled: true,
        min_ram_mb: None,
        min_disk_gb: None,
        sort_key: FlavorSortKey::Id,
        sort_dir: SortDir::Asc,
        limit: 1000,
        marker: None,
    }
}

fn ids(flavors: &[ecs_types::Flavor]) -> Vec<&str> {
    flavors.iter().map(|f| f.id.as_str()).collect()
}

async fn create_get_conflict_delete(store: Store) {
    let created = store.flavor_create(&spec("a", 1, 512, true)).await.unwrap();
    assert_eq!(created.rxtx_factor, 1.5);
    assert!(created.is_public && !created.disabled);
    assert_eq!(created.extra_specs["ecs:generation"], "s3");
    assert!(matches!(store.flavor_create(&spec("a", 1, 1, true)).await, Err(StoreError::Conflict(w)) if w == "id"));
    let mut same_name = spec("b", 1, 1, true);
    same_name.name = "name-a".into();
    assert!(matches!(store.flavor_create(&same_name).await, Err(StoreError::Conflict(w)) if w == "name"));
    assert_eq!(store.flavor_get("a").await.unwrap(), created);
    store.flavor_delete("a").await.unwrap();
    assert!(matches!(store.flavor_get("a").await, Err(StoreError::NotFound)));
    assert!(matches!(store.flavor_delete("a").await, Err(StoreError::NotFound)));
}
both!(create_get_conflict_delete);

async fn list_filters_sorts_and_pages(store: Store) {
    for (id, vcpus, ram, public) in
        [("d", 4, 4096, true), ("a", 1, 512, true), ("c", 2, 2048, false), ("b", 2, 1024, true)]
    {
        store.flavor_create(&spec(id, vcpus, ram, public)).await.unwrap();
    }
    assert_eq!(ids(&store.flavor_list(&query()).await.unwrap()), ["a", "b", "c", "d"]);
    assert_eq!(
        ids(&store.flavor_list(&FlavorListQuery { is_public: Some(true), ..query() }).await.unwrap()),
        ["a", "b", "d"]
    );
    assert_eq!(ids(&store.flavor_list(&FlavorListQuery { is_public: Some(false), ..query() }).await.unwrap()), ["c"]);
    assert_eq!(
        ids(&store.flavor_list(&FlavorListQuery { min_ram_mb: Some(2048), ..query() }).await.unwrap()),
        ["c", "d"]
    );
    let by_vcpus_desc = FlavorListQuery { sort_key: FlavorSortKey::Vcpus, sort_dir: SortDir::Desc, ..query() };
    assert_eq!(ids(&store.flavor_list(&by_vcpus_desc).await.unwrap()), ["d", "c", "b", "a"]);

    // Keyset paging on a sort key with ties (b and c both have 2 vCPUs).
    let by_vcpus = FlavorListQuery { sort_key: FlavorSortKey::Vcpus, limit: 2, ..query() };
    let page1 = store.flavor_list(&by_vcpus).await.unwrap();
    assert_eq!(ids(&page1), ["a", "b"]);
    let page2 = store.flavor_list(&FlavorListQuery { marker: Some("b".into()), ..by_vcpus.clone() }).await.unwrap();
    assert_eq!(ids(&page2), ["c", "d"]);
    let page3 = store.flavor_list(&FlavorListQuery { marker: Some("d".into()), ..by_vcpus.clone() }).await.unwrap();
    assert!(page3.is_empty());
    assert!(matches!(
        store.flavor_list(&FlavorListQuery { marker: Some("zz".into()), ..query() }).await,
        Err(StoreError::NotFound)
    ));
    // Extra specs come with every listed flavor.
    assert!(page2.iter().all(|f| f.extra_specs.len() == 1));
}
both!(list_filters_sorts_and_pages);

async fn extra_specs_and_description(store: Store) {
    store.flavor_create(&spec("x", 1, 512, true)).await.unwrap();
    let set = BTreeMap::from([("ecs:generation".to_string(), "c3".to_string()), ("k".to_string(), "v".to_string())]);
    let all = store.flavor_extra_specs_set("x", &set).await.unwrap();
    assert_eq!(all, set);
    store.flavor_extra_spec_delete("x", "k").await.unwrap();
    assert!(matches!(store.flavor_extra_spec_delete("x", "k").await, Err(StoreError::NotFound)));
    assert!(matches!(store.flavor_extra_specs_set("nope", &set).await, Err(StoreError::NotFound)));
    let f = store.flavor_set_description("x", Some("small")).await.unwrap();
    assert_eq!(f.description.as_deref(), Some("small"));
    assert_eq!(f.extra_specs.len(), 1);
}
both!(extra_specs_and_description);
