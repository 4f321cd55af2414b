//! ECS-native server operations answered with a job (seed 002 §5.2, §5.5,
//! §5.6): reinstallos, changeos, migrate, resize, NICs and disks — each
//! the server's own task, followed through ShowJob.

use serde_json::{Value, json};

use crate::{Session, TestServer, assert_ecs_error, both};

pub(crate) async fn boot(s: &Session<'_>, name: &str, flavor: &str) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": name, "flavorRef": flavor, "imageRef": image, "networks": "auto"}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

pub(crate) async fn stop(s: &Session<'_>, id: &str) {
    let r = s.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"os-stop": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_status(id, "SHUTOFF").await;
}

pub(crate) async fn server_view(s: &Session<'_>, id: &str) -> Value {
    s.get(&format!("/v2.1/servers/{id}"), Some("2.47")).await.body["server"].clone()
}

async fn reinstall_and_change_os(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let store = &server.core().store_for_tests();
    let p = demo.project_id.clone();
    let id = boot(&demo, "os", "m1.tiny").await;
    let theirs = boot(&admin, "theirs", "m1.tiny").await;
    let key = json!({"keypair": {"name": "k1", "public_key": crate::keypairs_vector()}});
    assert_eq!(demo.post("/v2.1/os-keypairs", None, &key).await.status, 200);
    let reinstall = format!("/v2/{p}/cloudservers/{id}/reinstallos");

    // A running server is refused unless the request stops it first.
    let r = demo.post(&reinstall, None, &json!({"os-reinstall": {"keyname": "k1", "userid": demo.user_id}})).await;
    assert_ecs_error(&r, 400, "Ecs.0100");
    // One login method is needed; the key must exist; passwords are checked.
    let r =
        demo.post(&reinstall, None, &json!({"os-reinstall": {"userid": demo.user_id, "mode": "withStopServer"}})).await;
    assert_ecs_error(&r, 400, "Ecs.0005");
    let r = demo.post(&reinstall, None, &json!({"os-reinstall": {"keyname": "nope", "mode": "withStopServer"}})).await;
    assert_ecs_error(&r, 400, "Ecs.0314");
    let r =
        demo.post(&reinstall, None, &json!({"os-reinstall": {"adminpass": "short", "mode": "withStopServer"}})).await;
    assert_ecs_error(&r, 400, "Ecs.0011");
    let r = demo.post(&reinstall, None, &json!({"os-reinstall": {"keyname": "k1", "mode": "later"}})).await;
    assert_ecs_error(&r, 400, "Ecs.0005");
    let bad_data = json!({"os-reinstall": {"metadata": {"user_data": "not base64!"}, "mode": "withStopServer"}});
    assert_ecs_error(&demo.post(&reinstall, None, &bad_data).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.post(&reinstall, None, &json!({"os-reinstall": "x"})).await, 400, "Ecs.0005");
    let empty = server.send(reqwest::Method::POST, &reinstall, &[("x-auth-token", demo.token.as_str())], None).await;
    assert_ecs_error(&empty, 400, "Common.0002");
    // Another project's server does not exist for the caller.
    let r = demo
        .post(&format!("/v2/{p}/cloudservers/{theirs}/reinstallos"), None, &json!({"os-reinstall": {"keyname": "k1"}}))
        .await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    // The path's project must be the caller's.
    let r = demo
        .post(&format!("/v2/{}/cloudservers/{id}/reinstallos", admin.project_id), None, &json!({"os-reinstall": {}}))
        .await;
    assert_ecs_error(&r, 403, "Ecs.0003");

    // withStopServer: the running server is stopped, rebuilt with its own
    // image and the new key, and started again.
    let body = json!({"os-reinstall": {"keyname": "k1", "userid": demo.user_id, "mode": "withStopServer"}});
    let job = demo.finished_job_of(&demo.post(&reinstall, None, &body).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "reinstallOs");
    assert_eq!(job["entities"]["server_id"], id.as_str());
    let s = demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["key_name"], "k1");
    // The job is the server's rebuild instance action.
    let actions = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    assert_eq!(actions.body["instanceActions"][0]["action"], "rebuild", "{}", actions.body);

    // A stopped server needs no mode; password login, on /v2.1 too.
    stop(&demo, &id).await;
    let body = json!({"os-reinstall": {"adminpass": "Secret-123x", "userid": demo.user_id}});
    let job =
        demo.finished_job_of(&demo.post(&format!("/v2.1/{p}/cloudservers/{id}/reinstallos"), None, &body).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    demo.wait_status(&id, "ACTIVE").await;

    // changeos: a new image.
    let mut other = store.image_list().await.unwrap().remove(0);
    other.id = uuid::Uuid::new_v4().to_string();
    other.name = "other-os".into();
    store.image_create(&other).await.unwrap();
    let mut queued = other.clone();
    queued.id = uuid::Uuid::new_v4().to_string();
    queued.status = "queued".into();
    store.image_create(&queued).await.unwrap();
    let change = format!("/v2/{p}/cloudservers/{id}/changeos");
    let with_image = |image: &str| json!({"os-change": {"keyname": "k1", "imageid": image}});
    assert_ecs_error(&demo.post(&change, None, &with_image(&other.id)).await, 400, "Ecs.0100");
    stop(&demo, &id).await;
    assert_ecs_error(&demo.post(&change, None, &json!({"os-change": {"keyname": "k1"}})).await, 400, "Ecs.0005");
    let ghost = "00000000-0000-0000-0000-000000000000";
    assert_ecs_error(&demo.post(&change, None, &with_image(ghost)).await, 400, "Ecs.0031");
    assert_ecs_error(&demo.post(&change, None, &with_image(&queued.id)).await, 400, "Ecs.0032");
    let user_data = json!({"os-change": {"imageid": other.id, "metadata": {"user_data": "IyEvYmluL3NoCg=="}}});
    let job = demo.finished_job_of(&demo.post(&change, None, &user_data).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "changeOs");
    let s = demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["image"]["id"], other.id.as_str());
}
both!(reinstall_and_change_os);

async fn resize_and_migrate(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let store = &server.core().store_for_tests();
    let p = demo.project_id.clone();
    let id = boot(&demo, "rs", "m1.tiny").await;
    let theirs = boot(&admin, "theirs", "m1.tiny").await;
    let resize = format!("/v1/{p}/cloudservers/{id}/resize");
    let to = |flavor: &str| json!({"resize": {"flavorRef": flavor}});

    // Only a stopped ECS is resized.
    assert_ecs_error(&demo.post(&resize, None, &to("m1.small")).await, 400, "Ecs.0100");
    stop(&demo, &id).await;
    assert_ecs_error(&demo.post(&resize, None, &to("no-such-flavor")).await, 400, "Ecs.0029");
    assert_ecs_error(&demo.post(&resize, None, &to("m1.tiny")).await, 400, "Ecs.0810");
    assert_ecs_error(&demo.post(&resize, None, &json!({"resize": {}})).await, 400, "Ecs.0005");
    assert_ecs_error(
        &demo.post(&resize, None, &json!({"resize": {"flavorRef": "m1.small"}, "dry_run": "maybe"})).await,
        400,
        "Ecs.0005",
    );
    let r = demo.post(&format!("/v1/{p}/cloudservers/{theirs}/resize"), None, &to("m1.small")).await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    // A dry run checks and changes nothing.
    let r = demo.post(&resize, None, &json!({"resize": {"flavorRef": "m1.small"}, "dry_run": true})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(server_view(&demo, &id).await["flavor"]["original_name"], "m1.tiny");
    // Quota: the bigger flavor must fit.
    let quota = json!({"quota_set": {"cores": 1}});
    let r = admin.put(&format!("/v2.1/os-quota-sets/{p}"), None, &quota).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ecs_error(&demo.post(&resize, None, &to("s3.large.2")).await, 400, "Ecs.0001");

    // The resize confirms itself: the server ends SHUTOFF with the new flavor.
    let job = demo.finished_job_of(&demo.post(&resize, None, &to("m1.small")).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "resizeServer");
    assert_eq!(job["entities"]["server_id"], id.as_str());
    let s = demo.wait_status(&id, "SHUTOFF").await;
    assert_eq!(s["flavor"]["original_name"], "m1.small");
    let actions = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    assert_eq!(actions.body["instanceActions"][0]["action"], "resize", "{}", actions.body);

    // Cold migration: another host, same flavor, still stopped.
    let host_of = |s: &Value| s["OS-EXT-SRV-ATTR:host"].as_str().unwrap().to_string();
    let before = host_of(&admin.get(&format!("/v2.1/servers/{id}"), None).await.body["server"]);
    let migrate = format!("/v1/{p}/cloudservers/{id}/migrate");
    assert_ecs_error(&demo.post(&migrate, None, &json!({})).await, 400, "Ecs.0005");
    let deh = json!({"migrate": {"dedicated_host_id": "459a2b9d-804a-4745-ab19-a113bb1b4ddc"}});
    assert_ecs_error(&demo.post(&migrate, None, &deh).await, 400, "Ecs.0005");
    let r = demo.post(&format!("/v1/{p}/cloudservers/{theirs}/migrate"), None, &json!({"migrate": null})).await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    let job = demo.finished_job_of(&demo.post(&migrate, None, &json!({"migrate": null})).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "migrateServer");
    let s = demo.wait_status(&id, "SHUTOFF").await;
    assert_eq!(s["flavor"]["original_name"], "m1.small");
    let after = host_of(&admin.get(&format!("/v2.1/servers/{id}"), None).await.body["server"]);
    assert_ne!(before, after);
    // No other host: the job fails with the seed's no-resource code.
    for host in store.host_list().await.unwrap() {
        if host.name != after {
            store.host_set_enabled(&host.name, false).await.unwrap();
        }
    }
    let job = demo.finished_job_of(&demo.post(&migrate, None, &json!({"migrate": {}})).await).await;
    assert_eq!(job["status"], "FAIL", "{job}");
    assert_eq!(job["error_code"], "Ecs.0319", "{job}");
    demo.wait_status(&id, "SHUTOFF").await;
    assert_eq!(host_of(&admin.get(&format!("/v2.1/servers/{id}"), None).await.body["server"]), after);
    // A running server is not migrated.
    let r = demo.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"os-start": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_status(&id, "ACTIVE").await;
    assert_ecs_error(&demo.post(&migrate, None, &json!({"migrate": null})).await, 400, "Ecs.0100");
}
both!(resize_and_migrate);

async fn nics(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let store = &server.core().store_for_tests();
    let p = demo.project_id.clone();
    let id = boot(&demo, "nics", "m1.tiny").await;
    let theirs = boot(&admin, "theirs", "m1.tiny").await;
    let network = store.network_list().await.unwrap().remove(0).id;
    let subnet = store.subnet_list(&network).await.unwrap().remove(0).id;
    let groups = demo.get("/v2.1/os-security-groups", None).await;
    let group = groups.body["security_groups"][0]["id"].as_str().unwrap().to_string();
    let add = format!("/v1/{p}/cloudservers/{id}/nics");
    let nic = |extra: Value| {
        let mut n = json!({"subnet_id": subnet});
        n.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"nics": [n]})
    };

    // Two NICs: one job, a sub-job per NIC naming its port.
    let body = json!({"nics": [
        {"subnet_id": subnet, "security_groups": [{"id": group}], "ip_address": "192.168.0.150"},
        {"subnet_id": subnet},
    ]});
    let job = demo.finished_job_of(&demo.post(&add, None, &body).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "addNics");
    assert_eq!(job["entities"]["server_id"], id.as_str());
    assert_eq!(job["entities"]["sub_jobs_total"], 2);
    let interfaces =
        demo.get(&format!("/v2.1/servers/{id}/os-interface"), None).await.body["interfaceAttachments"].clone();
    let ports: Vec<&str> = interfaces.as_array().unwrap().iter().map(|i| i["port_id"].as_str().unwrap()).collect();
    assert_eq!(ports.len(), 3, "{interfaces}");
    let mut added = Vec::new();
    for sub in job["entities"]["sub_jobs"].as_array().unwrap() {
        assert_eq!(sub["job_type"], "attachNic", "{sub}");
        assert_eq!(sub["status"], "SUCCESS", "{sub}");
        let port = sub["entities"]["nic_id"].as_str().unwrap().to_string();
        assert!(ports.contains(&port.as_str()), "{sub}");
        added.push(port);
    }
    assert!(interfaces.to_string().contains("192.168.0.150"), "{interfaces}");

    // A NIC takes its address from the subnet it names, not the network's first.
    let second = server
        .send(
            reqwest::Method::POST,
            "/networking/v2.0/subnets",
            &[("x-auth-token", admin.token.as_str())],
            Some(&json!({"subnet": {"network_id": network, "cidr": "10.5.0.0/24"}})),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.body);
    let second = second.body["subnet"]["id"].as_str().unwrap().to_string();
    let job = demo.finished_job_of(&demo.post(&add, None, &json!({"nics": [{"subnet_id": second}]})).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let port = job["entities"]["sub_jobs"][0]["entities"]["nic_id"].as_str().unwrap();
    let port = store.port_get(port).await.unwrap();
    assert_eq!(port.subnet_id, second);
    assert!(port.address.starts_with("10.5.0."), "{port:?}");
    added.push(port.id);

    // Each NIC is checked before anything is queued.
    let r = demo.post(&add, None, &json!({"nics": [{"subnet_id": "00000000-0000-0000-0000-000000000000"}]})).await;
    assert_ecs_error(&r, 400, "Ecs.0038");
    assert_ecs_error(&demo.post(&add, None, &nic(json!({"ip_address": "10.0.0.5"}))).await, 400, "Ecs.0039");
    assert_ecs_error(&demo.post(&add, None, &nic(json!({"ip_address": "192.168.0.150"}))).await, 400, "Ecs.0010");
    assert_ecs_error(&demo.post(&add, None, &nic(json!({"ip_address": "nope"}))).await, 400, "Ecs.0005");
    let r =
        demo.post(&add, None, &nic(json!({"security_groups": [{"id": "00000000-0000-0000-0000-000000000000"}]}))).await;
    assert_ecs_error(&r, 400, "Ecs.0014");
    assert_ecs_error(&demo.post(&add, None, &json!({"nics": []})).await, 400, "Ecs.0005");
    let r = demo.post(&format!("/v1/{p}/cloudservers/{theirs}/nics"), None, &nic(json!({}))).await;
    assert_ecs_error(&r, 404, "Ecs.0114");

    // Delete: never the primary NIC (403); only the server's own.
    let delete = format!("/v1/{p}/cloudservers/{id}/nics/delete");
    let primary = interfaces
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["port_id"].as_str().unwrap())
        .find(|p| !added.iter().any(|a| a == p))
        .unwrap()
        .to_string();
    assert_ecs_error(&demo.post(&delete, None, &json!({"nics": [{"id": primary}]})).await, 403, "Ecs.0003");
    let r = demo.post(&delete, None, &json!({"nics": [{"id": "00000000-0000-0000-0000-000000000000"}]})).await;
    assert_ecs_error(&r, 400, "Ecs.0085");
    assert_ecs_error(&demo.post(&delete, None, &json!({"nics": [{}]})).await, 400, "Ecs.0005");
    let r = demo
        .post(&format!("/v1/{p}/cloudservers/{theirs}/nics/delete"), None, &json!({"nics": [{"id": primary}]}))
        .await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    let body = json!({"nics": added.iter().map(|a| json!({"id": a})).collect::<Vec<_>>()});
    let job = demo.finished_job_of(&demo.post(&delete, None, &body).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "deleteNics");
    assert_eq!(job["entities"]["sub_jobs"][0]["job_type"], "detachNic");
    assert!(added.iter().any(|a| job["entities"]["sub_jobs"][0]["entities"]["nic_id"] == a.as_str()), "{job}");
    let left = demo.get(&format!("/v2.1/servers/{id}/os-interface"), None).await.body["interfaceAttachments"].clone();
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left[0]["port_id"], primary.as_str());
}
both!(nics);

async fn volume(s: &Session<'_>) -> String {
    let r = s.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 1}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["volume"]["id"].as_str().unwrap().to_string()
}

async fn disks(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();
    let id = boot(&demo, "disks", "m1.tiny").await;
    let theirs = boot(&admin, "theirs", "m1.tiny").await;
    let (v1, v2) = (volume(&demo).await, volume(&demo).await);
    let attach = format!("/v1/{p}/cloudservers/{id}/attachvolume");
    let with = |volume: &str, device: &str| json!({"volumeAttachment": {"volumeId": volume, "device": device}});

    // /dev/sdX is /dev/vdX on KVM.
    let job = demo.finished_job_of(&demo.post(&attach, None, &with(&v1, "/dev/sdb")).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "attachVolume");
    assert_eq!(job["entities"]["server_id"], id.as_str());
    let v = demo.get(&format!("/v2.1/os-volumes/{v1}"), None).await.body["volume"].clone();
    assert_eq!(v["status"], "in-use", "{v}");
    assert_eq!(v["attachments"][0]["device"], "/dev/vdb", "{v}");

    assert_ecs_error(&demo.post(&attach, None, &with(&v1, "/dev/vdc")).await, 400, "Ecs.0057");
    assert_ecs_error(&demo.post(&attach, None, &with(&v2, "/dev/vdb")).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.post(&attach, None, &with(&v2, "/dev/hda")).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.post(&attach, None, &with(&v2, "/dev/sda")).await, 400, "Ecs.0005");
    let ghost = "00000000-0000-0000-0000-000000000000";
    assert_ecs_error(&demo.post(&attach, None, &with(ghost, "/dev/vdc")).await, 400, "Ecs.0103");
    assert_ecs_error(&demo.post(&attach, None, &json!({"volumeAttachment": {}})).await, 400, "Ecs.0005");
    let r = demo.post(&format!("/v1/{p}/cloudservers/{theirs}/attachvolume"), None, &with(&v2, "/dev/vdc")).await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    // Dry runs check and attach nothing.
    let dry = json!({"volumeAttachment": {"volumeId": v2, "hw:passthrough": "false"}, "dry_run": true});
    assert_eq!(demo.post(&attach, None, &dry).await.status, 202);
    let dry = json!({"volumeAttachment": {"volume_type": "SSD", "count": 5}, "dry_run": true});
    assert_eq!(demo.post(&attach, None, &dry).await.status, 202);
    let v = demo.get(&format!("/v2.1/os-volumes/{v2}"), None).await.body["volume"].clone();
    assert_eq!(v["status"], "available", "{v}");

    // Detach (forced or not): the disk is free again.
    let detach = |volume: &str, flag: &str| format!("/v1/{p}/cloudservers/{id}/detachvolume/{volume}{flag}");
    assert_ecs_error(&demo.delete(&detach(&v1, "?delete_flag=2"), None).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.delete(&detach(&v2, ""), None).await, 400, "Ecs.0111");
    let r = demo.delete(&format!("/v1/{p}/cloudservers/{theirs}/detachvolume/{v1}"), None).await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    let job = demo.finished_job_of(&demo.delete(&detach(&v1, "?delete_flag=1"), None).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "detachVolume");
    let v = demo.get(&format!("/v2.1/os-volumes/{v1}"), None).await.body["volume"].clone();
    assert_eq!(v["status"], "available", "{v}");
    assert_ecs_error(&demo.delete(&detach(&v1, "?delete_flag=0"), None).await, 400, "Ecs.0111");

    // The system disk of a server booted from a volume stays.
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let bdm = json!([{"boot_index": 0, "uuid": image, "source_type": "image", "destination_type": "volume",
        "volume_size": 1, "delete_on_termination": true}]);
    let body =
        json!({"server": {"name": "bfv", "flavorRef": "m1.tiny", "networks": "none", "block_device_mapping_v2": bdm}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let bfv = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&bfv, "ACTIVE").await;
    let attached = demo.get(&format!("/v2.1/servers/{bfv}/os-volume_attachments"), None).await;
    let root = attached.body["volumeAttachments"][0]["volumeId"].as_str().unwrap().to_string();
    let r = demo.delete(&format!("/v1/{p}/cloudservers/{bfv}/detachvolume/{root}"), None).await;
    assert_ecs_error(&r, 400, "Ecs.0102");
}
both!(disks);

/// ReinstallServerWithCloudInit of a server booted from a volume, twice:
/// the server keeps showing no image (as Nova shows it), never an image
/// id of "", so the second reinstall finds the image again.
async fn reinstall_volume_backed_twice(server: &TestServer) {
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let bdm = json!([{"boot_index": 0, "uuid": image, "source_type": "image", "destination_type": "volume",
        "volume_size": 1, "delete_on_termination": true}]);
    let body =
        json!({"server": {"name": "bfv", "flavorRef": "m1.tiny", "networks": "none", "block_device_mapping_v2": bdm}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&id, "ACTIVE").await;
    let reinstall = format!("/v2/{p}/cloudservers/{id}/reinstallos");
    // As huaweicloudsdkecs's ReinstallServerWithCloudInit sends it.
    let body = json!({"os-reinstall": {"adminpass": "Secret-123x", "userid": demo.user_id, "mode": "withStopServer",
        "metadata": {"user_data": "IyEvYmluL3NoCmVjaG8gaGk="}}});
    for round in 0..2 {
        let job = demo.finished_job_of(&demo.post(&reinstall, None, &body).await).await;
        assert_eq!(job["status"], "SUCCESS", "round {round}: {job}");
        demo.wait_status(&id, "ACTIVE").await;
        let s = demo.get(&format!("/v2.1/servers/{id}"), None).await.body["server"].clone();
        assert_eq!(s["image"], "", "round {round}: {s}");
        let stored = server.core().store_for_tests().server_get(&id).await.unwrap();
        assert_eq!(stored.image_id, None, "round {round}");
    }
}
both!(reinstall_volume_backed_twice);
