//! The ECS operations beyond the seed's core chapters that Huawei's SDK
//! calls: zones and what they sell, resize targets, v1.1 and batch
//! resize, batch rename, auto recovery, NICs one by one (os-interface,
//! delete_on_termination, change-network-interface, changevpc, virtual
//! IPs) and ECS group members in a batch.

use serde_json::{Value, json};

use crate::ecs_actions::{boot, server_view, stop};
use crate::{TestServer, assert_ecs_error, both};

async fn flavors_and_zones(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();
    let id = boot(&demo, "rf", "m1.tiny").await;
    let theirs = boot(&admin, "theirs", "m1.tiny").await;

    // Zones: ecsd's hosts' zones, in Huawei's shape.
    let r = demo.get(&format!("/v1/{p}/availability-zones"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let zones = r.body["availability_zones"].as_array().unwrap().clone();
    assert!(!zones.is_empty(), "{}", r.body);
    for z in &zones {
        assert!(z["availability_zone_id"].is_string(), "{z}");
        assert_eq!(z["type"], "Center");
        assert_eq!(z["mode"], "shared");
        assert!(z["az_group_ids"].is_array(), "{z}");
    }
    let zone = zones[0]["availability_zone_id"].as_str().unwrap().to_string();

    // Resize targets: never the server's own flavor; not a server id.
    let rf = format!("/v1/{p}/cloudservers/resize_flavors");
    let r = demo.get(&format!("{rf}?instance_uuid={id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names = |r: &crate::Reply| -> Vec<String> {
        r.body["flavors"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect()
    };
    let by_server = names(&r);
    assert!(!by_server.contains(&"m1.tiny".to_string()), "{by_server:?}");
    assert!(by_server.contains(&"m1.small".to_string()), "{by_server:?}");
    let first = &r.body["flavors"][0];
    assert!(first["extra_specs"].is_object(), "{first}");
    assert!(first["instance_quota"].is_object(), "{first}");
    assert!(first["vcpus"].is_string() && first["ram"].is_number(), "{first}");
    let r = demo.get(&format!("{rf}?source_flavor_id=m1.tiny"), None).await;
    assert_eq!(names(&r), by_server);
    let r = demo.get(&format!("{rf}?source_flavor_name=m1.tiny"), None).await;
    assert_eq!(names(&r), by_server);
    let r = demo.get(&format!("{rf}?source_flavor_id=m1.tiny&sort_key=memory_mb&sort_dir=desc"), None).await;
    let rams: Vec<i64> = r.body["flavors"].as_array().unwrap().iter().map(|f| f["ram"].as_i64().unwrap()).collect();
    assert!(rams.windows(2).all(|w| w[0] >= w[1]), "{rams:?}");
    let r = demo.get(&format!("{rf}?source_flavor_id=m1.tiny&limit=1"), None).await;
    assert_eq!(r.body["flavors"].as_array().unwrap().len(), 1, "{}", r.body);
    let marker = r.body["flavors"][0]["id"].as_str().unwrap().to_string();
    let r = demo.get(&format!("{rf}?source_flavor_id=m1.tiny&marker={marker}"), None).await;
    assert_eq!(r.body["flavors"].as_array().unwrap().len(), by_server.len() - 1, "{}", r.body);
    assert_ecs_error(&demo.get(&rf, None).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.get(&format!("{rf}?source_flavor_id=m1.tiny&sort_key=color"), None).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.get(&format!("{rf}?source_flavor_id=m1.tiny&sort_dir=up"), None).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.get(&format!("{rf}?source_flavor_id=nope"), None).await, 400, "Ecs.0029");
    assert_ecs_error(&demo.get(&format!("{rf}?instance_uuid={theirs}"), None).await, 404, "Ecs.0114");

    // Sell policies: pay-per-use, per flavor and zone.
    let sp = format!("/v1/{p}/cloudservers/flavor-sell-policies");
    let r = demo.get(&sp, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let count = r.body["count"].as_u64().unwrap();
    assert!(count > 0, "{}", r.body);
    let r = demo.get(&format!("{sp}?flavor_id=m1.tiny&availability_zone_id={zone}"), None).await;
    assert_eq!(r.body["count"], 1, "{}", r.body);
    let policy = &r.body["sell_policies"][0];
    assert_eq!(policy["flavor_id"], "m1.tiny");
    assert_eq!(policy["sell_mode"], "postPaid");
    assert_eq!(policy["sell_status"], "available");
    assert_eq!(policy["availability_zone_id"], zone.as_str());
    assert!(policy["id"].is_u64(), "{policy}");
    let r = demo.get(&format!("{sp}?sell_mode=prePaid"), None).await;
    assert_eq!(r.body["count"], 0, "{}", r.body);
    let r = demo.get(&format!("{sp}?limit=1"), None).await;
    assert_eq!(r.body["sell_policies"].as_array().unwrap().len(), 1);
    assert_ecs_error(&demo.get(&format!("{sp}?sell_status=maybe"), None).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.get(&format!("{sp}?limit=0"), None).await, 400, "Ecs.0005");

    // Capacity: the zones of this region that sell the flavor.
    let r = demo.get(&format!("/v1/{p}/cloudservers/flavors/m1.tiny/resources"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resources = r.body["resources"].as_array().unwrap();
    assert!(!resources.is_empty(), "{}", r.body);
    assert_eq!(resources[0]["region_id"], "RegionOne");
    assert_eq!(resources[0]["prefer"], true);
    assert!(resources[0]["availability_zone"].is_string());
    let r = demo.get(&format!("/v1/{p}/cloudservers/flavors/m1.tiny/resources?region_ids=elsewhere"), None).await;
    assert_eq!(r.body["resources"], json!([]), "{}", r.body);
    let r = demo.get(&format!("/v1/{p}/cloudservers/flavors/nope/resources"), None).await;
    assert_ecs_error(&r, 400, "Ecs.0029");
    let r = demo.get(&format!("/v1/{p}/cloudservers/flavors/m1.tiny/resources?count=0"), None).await;
    assert_ecs_error(&r, 400, "Ecs.0005");
}
both!(flavors_and_zones);

async fn rename_and_auto_recovery(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();
    let a = boot(&demo, "a", "m1.tiny").await;
    let b = boot(&demo, "b", "m1.tiny").await;
    let theirs = boot(&admin, "theirs", "m1.tiny").await;
    let rename = format!("/v1/{p}/cloudservers/server-name");

    let r = demo.put(&rename, None, &json!({"name": "web.1", "servers": [{"id": a}, {"id": b}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"], json!([{"id": a}, {"id": b}]));
    assert_eq!(server_view(&demo, &a).await["name"], "web.1");
    assert_eq!(server_view(&demo, &b).await["name"], "web.1");
    // A dry run checks only.
    let r = demo.put(&rename, None, &json!({"name": "other", "dry_run": true, "servers": [{"id": a}]})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(server_view(&demo, &a).await["name"], "web.1");
    // Another project's server: nothing is renamed.
    let r = demo.put(&rename, None, &json!({"name": "x", "servers": [{"id": a}, {"id": theirs}]})).await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    assert_eq!(server_view(&demo, &a).await["name"], "web.1");
    assert_ecs_error(&demo.put(&rename, None, &json!({"name": "a b", "servers": [{"id": a}]})).await, 400, "Ecs.0005");
    let long = "x".repeat(65);
    assert_ecs_error(&demo.put(&rename, None, &json!({"name": long, "servers": [{"id": a}]})).await, 400, "Ecs.0914");
    assert_ecs_error(&demo.put(&rename, None, &json!({"name": "n"})).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.put(&rename, None, &json!({"name": "n", "servers": []})).await, 400, "Ecs.0005");
    let twice = json!({"name": "n", "servers": [{"id": a}, {"id": a}]});
    assert_ecs_error(&demo.put(&rename, None, &twice).await, 400, "Ecs.0005");

    // Auto recovery: on until turned off, per server.
    let ar = format!("/v1/{p}/cloudservers/{a}/autorecovery");
    let r = demo.get(&ar, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"support_auto_recovery": "true"}));
    let r = demo.put(&ar, None, &json!({"support_auto_recovery": "false"})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(demo.get(&ar, None).await.body["support_auto_recovery"], "false");
    assert_eq!(
        demo.get(&format!("/v1/{p}/cloudservers/{b}/autorecovery"), None).await.body["support_auto_recovery"],
        "true"
    );
    let r = demo.put(&ar, None, &json!({"support_auto_recovery": "true"})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(demo.get(&ar, None).await.body["support_auto_recovery"], "true");
    assert_ecs_error(&demo.put(&ar, None, &json!({"support_auto_recovery": "maybe"})).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.put(&ar, None, &json!({})).await, 400, "Ecs.0005");
    // A flavor whose cond:compute leaves auto recovery out: off, and not to be turned on.
    let spec = json!({"flavor": {"name": "norecover", "ram": 512, "vcpus": 1, "disk": 1, "id": "norecover"}});
    assert_eq!(admin.post("/v2.1/flavors", None, &spec).await.status, 200);
    let specs = json!({"extra_specs": {"cond:compute": "live_resizable"}});
    let r = admin.post("/v2.1/flavors/norecover/os-extra_specs", None, &specs).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = boot(&demo, "c", "norecover").await;
    let c_ar = format!("/v1/{p}/cloudservers/{c}/autorecovery");
    assert_eq!(demo.get(&c_ar, None).await.body["support_auto_recovery"], "false");
    assert_ecs_error(&demo.put(&c_ar, None, &json!({"support_auto_recovery": "true"})).await, 400, "Ecs.0036");
    assert_eq!(demo.put(&c_ar, None, &json!({"support_auto_recovery": "false"})).await.status, 204);
    let theirs_ar = format!("/v1/{p}/cloudservers/{theirs}/autorecovery");
    assert_ecs_error(&demo.get(&theirs_ar, None).await, 404, "Ecs.0114");
    assert_ecs_error(&demo.put(&theirs_ar, None, &json!({"support_auto_recovery": "false"})).await, 404, "Ecs.0114");
}
both!(rename_and_auto_recovery);

async fn interfaces(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let store = &server.core().store_for_tests();
    let p = demo.project_id.clone();
    let id = boot(&demo, "nics", "m1.tiny").await;
    let theirs = boot(&admin, "theirs", "m1.tiny").await;
    let network = store.network_list().await.unwrap().remove(0).id;
    let subnet = store.subnet_list(&network).await.unwrap().remove(0).id;

    // The NICs, Huawei's os-interface shape.
    let r = demo.get(&format!("/v1/{p}/cloudservers/{id}/os-interface"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let nics = r.body["interfaceAttachments"].as_array().unwrap().clone();
    assert_eq!(nics.len(), 1, "{}", r.body);
    assert_eq!(r.body["attachableQuantity"]["free_nic"], 11);
    let nic = &nics[0];
    let port = nic["port_id"].as_str().unwrap().to_string();
    let address = nic["fixed_ips"][0]["ip_address"].as_str().unwrap().to_string();
    assert_eq!(nic["net_id"], network.as_str());
    assert_eq!(nic["fixed_ips"][0]["subnet_id"], subnet.as_str());
    assert_eq!(nic["port_state"], "ACTIVE");
    assert_eq!(nic["delete_on_termination"], true);
    assert!(nic["mac_addr"].is_string() && nic["driver_mode"].is_string() && nic["pci_address"].is_string());
    let r = demo.get(&format!("/v1/{p}/cloudservers/{id}/os-interface_extension"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["attachableQuantity"]["free_nic"], 11);
    assert!(r.body["attachableQuantity"]["free_scsi"].as_u64().unwrap() > 0, "{}", r.body);
    assert_eq!(r.body["interfaceAttachments"][0]["preserve_on_delete"], false);
    let r = demo.get(&format!("/v1/{p}/cloudservers/{theirs}/os-interface"), None).await;
    assert_ecs_error(&r, 404, "Ecs.0114");

    // delete_on_termination.
    let update = format!("/v1/{p}/cloudservers/{id}/os-interface/{port}");
    let r = demo.put(&update, None, &json!({"interface_attachment": {"delete_on_termination": false}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = demo.get(&format!("/v1/{p}/cloudservers/{id}/os-interface"), None).await;
    assert_eq!(r.body["interfaceAttachments"][0]["delete_on_termination"], false);
    assert!(store.port_get(&port).await.unwrap().preserve_on_delete);
    let r = demo.put(&update, None, &json!({"interface_attachment": {"delete_on_termination": true}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ecs_error(&demo.put(&update, None, &json!({"interface_attachment": {}})).await, 400, "Ecs.0005");
    let other = format!("/v1/{p}/cloudservers/{id}/os-interface/00000000-0000-0000-0000-000000000000");
    let body = json!({"interface_attachment": {"delete_on_termination": true}});
    assert_ecs_error(&demo.put(&other, None, &body).await, 400, "Ecs.0085");
    let r = demo.put(&format!("/v1/{p}/cloudservers/{theirs}/os-interface/{port}"), None, &body).await;
    assert_ecs_error(&r, 404, "Ecs.0114");

    // Virtual IPs: the address's port is made and goes into the NIC's pairs.
    let vip = format!("/v1/{p}/cloudservers/nics/{port}");
    let bind = |ip: &str| json!({"nic": {"subnet_id": subnet, "ip_address": ip, "reverse_binding": true}});
    let r = demo.put(&vip, None, &bind("192.168.0.200")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["port_id"], port.as_str());
    let ports = demo.get("/networking/v2.0/ports", None).await.body["ports"].clone();
    let mine = ports.as_array().unwrap().iter().find(|q| q["id"] == port.as_str()).unwrap().clone();
    assert_eq!(mine["allowed_address_pairs"][0]["ip_address"], "192.168.0.200", "{mine}");
    let vip_port = ports
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["fixed_ips"][0]["ip_address"] == "192.168.0.200")
        .expect("the virtual IP's port")
        .clone();
    assert_eq!(vip_port["device_owner"], "neutron:VIP_PORT", "{vip_port}");
    assert_eq!(vip_port["allowed_address_pairs"][0]["ip_address"], address.as_str(), "{vip_port}");
    // Binding again is the same; an address outside the subnet or a NIC's is refused.
    assert_eq!(demo.put(&vip, None, &bind("192.168.0.200")).await.status, 200);
    assert_ecs_error(&demo.put(&vip, None, &bind("10.99.0.1")).await, 400, "Ecs.0039");
    assert_ecs_error(&demo.put(&vip, None, &bind(&address)).await, 400, "Ecs.0010");
    assert_ecs_error(&demo.put(&vip, None, &bind("not-an-ip")).await, 400, "Ecs.0005");
    let r = demo
        .put(
            &vip,
            None,
            &json!({"nic": {"subnet_id": "00000000-0000-0000-0000-000000000000", "ip_address": "192.168.0.201"}}),
        )
        .await;
    assert_ecs_error(&r, 400, "Ecs.0038");
    assert_ecs_error(
        &demo.put(&vip, None, &json!({"nic": {"subnet_id": subnet, "ip_address": ""}})).await,
        400,
        "Ecs.0005",
    );
    let r = demo
        .put(&format!("/v1/{p}/cloudservers/nics/00000000-0000-0000-0000-000000000000"), None, &bind("192.168.0.201"))
        .await;
    assert_ecs_error(&r, 404, "Ecs.0085");
    let theirs_nic = admin.get(&format!("/v2.1/servers/{theirs}/os-interface"), None).await.body["interfaceAttachments"][0]
        ["port_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = demo.put(&format!("/v1/{p}/cloudservers/nics/{theirs_nic}"), None, &bind("192.168.0.201")).await;
    assert_ecs_error(&r, 404, "Ecs.0085");
    let r = demo.put(&format!("/v1/{p}/cloudservers/nics/{theirs_nic}"), None, &json!({})).await;
    assert_ecs_error(&r, 404, "Ecs.0085");
    // Unbinding empties the pairs on both sides; the port stays.
    let r = demo.put(&vip, None, &json!({"nic": {"subnet_id": "", "ip_address": ""}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ports = demo.get("/networking/v2.0/ports", None).await.body["ports"].clone();
    for q in ports.as_array().unwrap() {
        if q["id"] == port.as_str() || q["id"] == vip_port["id"] {
            assert_eq!(q["allowed_address_pairs"], json!([]), "{q}");
        }
    }

    // change-network-interface: a stopped server's primary NIC only.
    let change = format!("/v1/{p}/cloudservers/{id}/os-interface/{port}/change-network-interface");
    let to = |subnet: &str, ip: &str| json!({"subnet_id": subnet, "ip_address": ip});
    assert_ecs_error(&demo.post(&change, None, &to(&subnet, "192.168.0.77")).await, 400, "Ecs.0100");
    stop(&demo, &id).await;
    let r = demo.post(&change, None, &to(&subnet, "192.168.0.77")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], port.as_str());
    assert_eq!(r.body["ip_address"], "192.168.0.77");
    assert_eq!(r.body["subnet_id"], subnet.as_str());
    assert_eq!(store.port_get(&port).await.unwrap().address, "192.168.0.77");
    assert_ecs_error(&demo.post(&change, None, &to(&subnet, "10.99.0.1")).await, 400, "Ecs.0039");
    assert_ecs_error(&demo.post(&change, None, &to(&subnet, "192.168.0.200")).await, 400, "Ecs.0010");
    assert_ecs_error(&demo.post(&change, None, &to("00000000-0000-0000-0000-000000000000", "")).await, 400, "Ecs.0038");
    assert_ecs_error(&demo.post(&change, None, &json!({"ip_address": ""})).await, 400, "Ecs.0005");
    // To another network: any free address there; the NIC keeps its id.
    let net = demo.post("/networking/v2.0/networks", None, &json!({"network": {"name": "other"}})).await;
    assert_eq!(net.status, 201, "{}", net.body);
    let other_net = net.body["network"]["id"].as_str().unwrap().to_string();
    let sub = json!({"subnet": {"network_id": other_net, "cidr": "10.7.0.0/24", "ip_version": 4}});
    let sub = demo.post("/networking/v2.0/subnets", None, &sub).await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let other_subnet = sub.body["subnet"]["id"].as_str().unwrap().to_string();
    let r = demo.post(&change, None, &to(&other_subnet, "")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["ip_address"].as_str().unwrap().starts_with("10.7.0."), "{}", r.body);
    let r = demo.get(&format!("/v1/{p}/cloudservers/{id}/os-interface"), None).await;
    assert_eq!(r.body["interfaceAttachments"][0]["net_id"], other_net.as_str(), "{}", r.body);
    assert_eq!(r.body["interfaceAttachments"][0]["port_id"], port.as_str());
    let r = demo
        .post(
            &format!("/v1/{p}/cloudservers/{theirs}/os-interface/{port}/change-network-interface"),
            None,
            &to(&subnet, ""),
        )
        .await;
    assert_ecs_error(&r, 404, "Ecs.0114");

    // changevpc: a job that gives a one-NIC server a NIC on the new subnet.
    let changevpc = format!("/v1/{p}/cloudservers/{id}/changevpc");
    let vpc = |subnet: &str| json!({"vpc_id": "vpc", "nic": {"subnet_id": subnet}});
    assert_ecs_error(&demo.post(&changevpc, None, &json!({"nic": {"subnet_id": subnet}})).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.post(&changevpc, None, &vpc(&other_subnet)).await, 400, "Ecs.0005");
    let job = demo.finished_job_of(&demo.post(&changevpc, None, &vpc(&subnet)).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "changeVpc");
    assert_eq!(job["entities"]["sub_jobs_total"], 2, "{job}");
    let r = demo.get(&format!("/v1/{p}/cloudservers/{id}/os-interface"), None).await;
    let nics = r.body["interfaceAttachments"].as_array().unwrap();
    assert_eq!(nics.len(), 1, "{}", r.body);
    assert_eq!(nics[0]["net_id"], network.as_str());
    assert_ne!(nics[0]["port_id"], port.as_str());
    let new_port = nics[0]["port_id"].as_str().unwrap().to_string();
    let r = demo.post(&format!("/v1/{p}/cloudservers/{theirs}/changevpc"), None, &vpc(&subnet)).await;
    assert_ecs_error(&r, 404, "Ecs.0114");

    // A NIC that is not the primary one is not changed.
    let add = format!("/v1/{p}/cloudservers/{id}/nics");
    let job = demo.finished_job_of(&demo.post(&add, None, &json!({"nics": [{"subnet_id": other_subnet}]})).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let second = job["entities"]["sub_jobs"][0]["entities"]["nic_id"].as_str().unwrap().to_string();
    let r = demo
        .post(
            &format!("/v1/{p}/cloudservers/{id}/os-interface/{second}/change-network-interface"),
            None,
            &to(&subnet, ""),
        )
        .await;
    assert_ecs_error(&r, 400, "Ecs.0086");
    // Two NICs: no VPC change.
    assert_ecs_error(&demo.post(&changevpc, None, &vpc(&other_subnet)).await, 400, "Ecs.0005");
    let r = demo
        .post(
            &format!("/v1/{p}/cloudservers/{id}/os-interface/{new_port}/change-network-interface"),
            None,
            &to(&subnet, ""),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
both!(interfaces);

async fn resize_and_groups(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();
    let a = boot(&demo, "a", "m1.tiny").await;
    let b = boot(&demo, "b", "m1.tiny").await;
    let theirs = boot(&admin, "theirs", "m1.tiny").await;

    // v1.1: a running server only with `mode: withStopServer`.
    let resize = format!("/v1.1/{p}/cloudservers/{a}/resize");
    let to = |flavor: &str, extra: Value| {
        let mut r = json!({"flavorRef": flavor});
        r.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"resize": r})
    };
    assert_ecs_error(&demo.post(&resize, None, &to("m1.small", json!({}))).await, 400, "Ecs.0100");
    assert_ecs_error(&demo.post(&resize, None, &to("m1.small", json!({"mode": "now"}))).await, 400, "Ecs.0005");
    let autopay = json!({"extendparam": {"isAutoPay": "maybe"}});
    assert_ecs_error(&demo.post(&resize, None, &to("m1.small", autopay)).await, 400, "Ecs.0005");
    let deh = json!({"dedicated_host_id": "459a2b9d-804a-4745-ab19-a113bb1b4ddc"});
    assert_ecs_error(&demo.post(&resize, None, &to("m1.small", deh)).await, 400, "Ecs.0005");
    assert_ecs_error(
        &demo.post(&resize, None, &to("m1.tiny", json!({"mode": "withStopServer"}))).await,
        400,
        "Ecs.0810",
    );
    assert_ecs_error(&demo.post(&resize, None, &to("nope", json!({}))).await, 400, "Ecs.0029");
    let r = demo.post(&format!("/v1.1/{p}/cloudservers/{theirs}/resize"), None, &to("m1.small", json!({}))).await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    let r = demo.post(&resize, None, &json!({"resize": {"flavorRef": "m1.small"}, "dry_run": true})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let body = to(
        "m1.small",
        json!({"mode": "withStopServer", "extendparam": {"isAutoPay": "true"}, "cpu_options": {"hw:cpu_threads": 1}}),
    );
    let r = demo.post(&resize, None, &body).await;
    assert!(r.body.get("order_id").is_none(), "{}", r.body);
    let job = demo.finished_job_of(&r).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "resizeServer");
    let s = demo.wait_status(&a, "ACTIVE").await;
    assert_eq!(s["flavor"]["original_name"], "m1.small");

    // Batch resize: a sub-job per server; a running one fails alone.
    stop(&demo, &b).await;
    let batch = format!("/v1/{p}/cloudservers/batch-resize");
    let servers = |ids: &[&str]| ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>();
    let body = json!({"resize": {"flavorRef": "s3.small.1", "servers": servers(&[&a, &b])}});
    let job = demo.finished_job_of(&demo.post(&batch, None, &body).await).await;
    assert_eq!(job["status"], "FAIL", "{job}");
    let subs = job["entities"]["sub_jobs"].as_array().unwrap();
    assert_eq!(subs.len(), 2, "{job}");
    for sub in subs {
        let expected = if sub["entities"]["server_id"] == b.as_str() { "SUCCESS" } else { "FAIL" };
        assert_eq!(sub["status"], expected, "{sub}");
    }
    let s = demo.wait_status(&b, "SHUTOFF").await;
    assert_eq!(s["flavor"]["original_name"], "s3.small.1");
    let body = json!({"resize": {"flavorRef": "s3.medium.2", "mode": "withStopServer", "servers": servers(&[&b])}});
    let job = demo.finished_job_of(&demo.post(&batch, None, &body).await).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let bad = |flavor: &str, ids: &[&str]| json!({"resize": {"flavorRef": flavor, "servers": servers(ids)}});
    assert_ecs_error(&demo.post(&batch, None, &bad("nope", &[&a])).await, 400, "Ecs.0029");
    assert_ecs_error(&demo.post(&batch, None, &bad("m1.small", &[])).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.post(&batch, None, &bad("m1.small", &[&a, &a])).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.post(&batch, None, &bad("m1.small", &[&a, &theirs])).await, 404, "Ecs.0114");
    assert_ecs_error(&demo.post(&batch, None, &json!({"resize": {"servers": servers(&[&a])}})).await, 400, "Ecs.0005");

    // ECS group members in a batch (stopped servers join, as one at a time).
    stop(&demo, &a).await;
    let r = demo
        .post(
            &format!("/v1/{p}/cloudservers/os-server-groups"),
            None,
            &json!({"server_group": {"name": "g", "policies": ["anti-affinity"]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = r.body["server_group"]["id"].as_str().unwrap().to_string();
    let add = format!("/v1/{p}/cloudservers/os-server-groups/{g}/add_members");
    let remove = format!("/v1/{p}/cloudservers/os-server-groups/{g}/remove_members");
    let r = demo.post(&add, None, &json!({"server_ids": [a, b]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "success", "{}", r.body);
    assert_eq!(r.body["servers"][0]["server_id"], a.as_str());
    assert_eq!(r.body["servers"][0]["status"], "success");
    let shown = demo.get(&format!("/v1/{p}/cloudservers/os-server-groups/{g}"), None).await;
    let mut members: Vec<String> =
        shown.body["server_group"]["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().into()).collect();
    members.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(members, expected);
    // Another project's server fails alone.
    let r = demo.post(&remove, None, &json!({"server_ids": [a, theirs]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "failed", "{}", r.body);
    assert_eq!(r.body["servers"][0]["status"], "success");
    assert_eq!(r.body["servers"][1]["status"], "failed");
    assert!(!r.body["servers"][1]["fail_reason"].as_str().unwrap().is_empty());
    let shown = demo.get(&format!("/v1/{p}/cloudservers/os-server-groups/{g}"), None).await;
    assert_eq!(shown.body["server_group"]["members"], json!([b]));
    assert_ecs_error(&demo.post(&add, None, &json!({"server_ids": []})).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.post(&add, None, &json!({"server_ids": "x"})).await, 400, "Ecs.0005");
    let r = demo
        .post(
            &format!("/v1/{p}/cloudservers/os-server-groups/00000000-0000-0000-0000-000000000000/add_members"),
            None,
            &json!({"server_ids": [a]}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body["error"]["code"].is_string(), "{}", r.body);
}
both!(resize_and_groups);
