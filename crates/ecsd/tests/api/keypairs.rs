use serde_json::{Value, json};

use crate::{TestServer, both};

// Vectors made with `ssh-keygen -t {ed25519,rsa}`; fingerprints from
// `ssh-keygen -l -E md5 -f key.pub`.
const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH6EBhTXPKGeZhVZ2FiHHH+ltZmKJBnyIXYsPD7HBVDY test@ecsd";
const ED25519_FP: &str = "4f:ce:be:d1:e6:df:69:1f:a5:7a:2c:18:79:9b:37:6c";
const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDFXIK59XGsRn93nalvBuPnriatnIg9GKhGcdWo8JQcWbr+f/TYaL5lxyjHz1d1QWJ1nNGaCnY+mx4eiiKC7Y7/AD1VLG1dP23Iom3d6NEQSs7KtgsZYYoD2chqsccR4zS/HblPofNO4aMuapeU3AfZ+psvvhnfJQFOIcDAOGQhYw== rsa@ecsd";
const RSA_FP: &str = "11:37:71:fb:1c:68:b1:6c:b4:e4:f5:25:73:50:fb:91";
// `openssl req -x509 -newkey rsa:1024 -subj /CN=ecsd-test`; fingerprint
// from `openssl x509 -noout -fingerprint -sha1`.
const CERT: &str = "-----BEGIN CERTIFICATE-----
MIICBjCCAW+gAwIBAgIUN76dWP1oLEGSHBDaVD1W7hSOSxowDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJZWNzZC10ZXN0MCAXDTI2MTEyMzA1MDg1N1oYDzIxMjYx
MDMwMDUwODU3WjAUMRIwEAYDVQQDDAllY3NkLXRlc3QwgZ8wDQYJKoZIhvcNAQEB
BQADgY0AMIGJAoGBAMc9qAUbB/cqQA+EyrccayC1ApPDRuhCqukNJnuEW2nyQqVV
ULVoEfvGHlrSZnJ4k7OiJxp+nd3EvTa1KJUF9exgNi3mopABtSKeCBQYIedT7PCP
JCGdFHMja/Sanfq2ieoflMVdm7H5Rl0I717oIfw+OWQpeg4ml582oTACE79bAgMB
AAGjUzBRMB0GA1UdDgQWBBT8SWpV7jt6VHpx3riNJDG8pBzpQzAfBgNVHSMEGDAW
gBT8SWpV7jt6VHpx3riNJDG8pBzpQzAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3
DQEBCwUAA4GBAK/Xi/MbK+4lh1mGBbXQ4kdIZpF0hK0SImvmRt9m1k2PtgpHGieH
ganIehblkqFAVffHBK3/zyHLzKadx74YeqO5Dj7a58vcsal0g1C0K+cVS9OuhFf9
MoJGHxtuS9/Hpof8sKg2JFqoSzkqEPYUoDWzq7ycPtfdkoE2DzXIqfHX
-----END CERTIFICATE-----
";
const CERT_FP: &str = "4d:51:ed:42:bd:fd:11:c4:fd:c4:dc:52:b7:9f:31:53:b6:e3:07:e0";

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

async fn import_computes_nova_fingerprints(server: &TestServer) {
    let demo = server.demo().await;
    let r = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "ed", "public_key": ED25519}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["keypair"]["fingerprint"], ED25519_FP);
    assert_eq!(keys(&r.body["keypair"]), ["fingerprint", "name", "public_key", "user_id"]);
    assert_eq!(r.body["keypair"]["user_id"], json!(demo.user_id));
    let r = demo.post("/v2.1/os-keypairs", Some("2.2"), &json!({"keypair": {"name": "rsa", "public_key": RSA}})).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        (r.body["keypair"]["fingerprint"].as_str(), r.body["keypair"]["type"].as_str()),
        (Some(RSA_FP), Some("ssh"))
    );
    let r = demo
        .post(
            "/v2.1/os-keypairs",
            Some("2.2"),
            &json!({"keypair": {"name": "cert", "type": "x509", "public_key": CERT}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["keypair"]["fingerprint"], CERT_FP);

    for bad in ["ssh-rsa garbage", "", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"] {
        let msg = demo
            .post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "bad", "public_key": bad}}))
            .await
            .assert_fault(400, "badRequest")
            .to_string();
        assert!(msg.starts_with("Keypair data is invalid"), "{msg}");
    }
    demo.post(
        "/v2.1/os-keypairs",
        Some("2.2"),
        &json!({"keypair": {"name": "bad", "type": "x509", "public_key": RSA}}),
    )
    .await
    .assert_fault(400, "badRequest");
    let dup = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "ed", "public_key": RSA}})).await;
    assert_eq!(dup.assert_fault(409, "conflictingRequest"), "Key pair 'ed' already exists.");
}
both!(import_computes_nova_fingerprints);

async fn generation_and_name_rules_follow_microversions(server: &TestServer) {
    let demo = server.demo().await;
    let r = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "gen"}})).await;
    assert_eq!(r.status, 200);
    let kp = &r.body["keypair"];
    assert!(kp["private_key"].as_str().unwrap().starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let public = kp["public_key"].as_str().unwrap();
    assert!(public.starts_with("ssh-rsa ") && public.ends_with(" Generated-by-Nova"));
    assert_eq!(kp["fingerprint"].as_str().unwrap().len(), 47);
    assert!(kp.get("type").is_none());

    let r = demo.post("/v2.1/os-keypairs", Some("2.2"), &json!({"keypair": {"name": "gen509", "type": "x509"}})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["keypair"]["public_key"].as_str().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(r.body["keypair"]["type"], "x509");

    // 2.92: no generation, and '@' and '.' are allowed in names.
    demo.post("/v2.1/os-keypairs", Some("2.92"), &json!({"keypair": {"name": "x"}}))
        .await
        .assert_fault(400, "badRequest");
    let r = demo
        .post("/v2.1/os-keypairs", Some("2.92"), &json!({"keypair": {"name": "me@host.x", "public_key": ED25519}}))
        .await;
    assert_eq!(r.status, 201);
    assert!(r.body["keypair"].get("private_key").is_none());
    demo.post("/v2.1/os-keypairs", Some("2.91"), &json!({"keypair": {"name": "me@host.y", "public_key": ED25519}}))
        .await
        .assert_fault(400, "badRequest");
    for bad in [json!(""), json!(" lead"), json!("a".repeat(256)), json!("semi;colon")] {
        demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": bad, "public_key": ED25519}}))
            .await
            .assert_fault(400, "badRequest");
    }
    // The type field arrives in 2.2; user_id in 2.10.
    demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "t", "type": "ssh"}}))
        .await
        .assert_fault(400, "badRequest");
    demo.post("/v2.1/os-keypairs", Some("2.2"), &json!({"keypair": {"name": "t", "type": "rsa"}}))
        .await
        .assert_fault(400, "badRequest");
    demo.post("/v2.1/os-keypairs", Some("2.9"), &json!({"keypair": {"name": "t", "user_id": "x"}}))
        .await
        .assert_fault(400, "badRequest");
}
both!(generation_and_name_rules_follow_microversions);

async fn list_show_delete_and_paging(server: &TestServer) {
    let demo = server.demo().await;
    for name in ["k3", "k1", "k2", "k4", "k5"] {
        let r = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": name, "public_key": ED25519}})).await;
        assert_eq!(r.status, 200);
    }
    let all = demo.get("/v2.1/os-keypairs", None).await;
    let names: Vec<&str> =
        all.body["keypairs"].as_array().unwrap().iter().map(|k| k["keypair"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["k1", "k2", "k3", "k4", "k5"]);
    assert_eq!(keys(&all.body["keypairs"][0]["keypair"]), ["fingerprint", "name", "public_key"]);
    assert!(all.body.get("keypairs_links").is_none());

    // Paging from 2.35 only.
    let page = demo.get("/v2.1/os-keypairs?limit=2&marker=k2", Some("2.35")).await;
    let names: Vec<&str> =
        page.body["keypairs"].as_array().unwrap().iter().map(|k| k["keypair"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["k3", "k4"]);
    let next = page.body["keypairs_links"][0]["href"].as_str().unwrap();
    assert!(next.contains("marker=k4") && next.contains("/v2.1/os-keypairs?"), "{next}");
    assert_eq!(demo.get("/v2.1/os-keypairs?limit=2", Some("2.34")).await.body["keypairs"].as_array().unwrap().len(), 5);
    demo.get("/v2.1/os-keypairs?marker=zz", Some("2.35")).await.assert_fault(400, "badRequest");
    demo.get("/v2.1/os-keypairs?bogus=1", Some("2.75")).await.assert_fault(400, "badRequest");

    let show = demo.get("/v2.1/os-keypairs/k1", Some("2.2")).await;
    assert_eq!(
        keys(&show.body["keypair"]),
        [
            "created_at",
            "deleted",
            "deleted_at",
            "fingerprint",
            "id",
            "name",
            "public_key",
            "type",
            "updated_at",
            "user_id"
        ]
    );
    assert!(show.body["keypair"]["id"].is_i64());
    assert_eq!(show.body["keypair"]["deleted"], false);

    assert_eq!(demo.delete("/v2.1/os-keypairs/k1", None).await.status, 202);
    assert_eq!(demo.delete("/v2.1/os-keypairs/k2", Some("2.2")).await.status, 204);
    let gone = demo.get("/v2.1/os-keypairs/k1", None).await;
    assert_eq!(gone.assert_fault(404, "itemNotFound"), format!("Keypair k1 not found for user {}", demo.user_id));
}
both!(list_show_delete_and_paging);

async fn keypairs_belong_to_users(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "mine", "public_key": ED25519}})).await;
    admin.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "admins", "public_key": RSA}})).await;

    demo.get("/v2.1/os-keypairs/admins", None).await.assert_fault(404, "itemNotFound");
    assert_eq!(demo.get("/v2.1/os-keypairs", None).await.body["keypairs"].as_array().unwrap().len(), 1);
    let as_admin = format!("/v2.1/os-keypairs/admins?user_id={}", admin.user_id);
    demo.get(&as_admin, Some("2.10")).await.assert_fault(403, "forbidden");
    let create_for_admin = json!({"keypair": {"name": "sneaky", "public_key": ED25519, "user_id": admin.user_id}});
    demo.post("/v2.1/os-keypairs", Some("2.10"), &create_for_admin).await.assert_fault(403, "forbidden");

    // Admins reach other users' key pairs with user_id (2.10+); below, it is ignored.
    let demos = format!("/v2.1/os-keypairs?user_id={}", demo.user_id);
    let listed = admin.get(&demos, Some("2.10")).await;
    assert_eq!(listed.body["keypairs"][0]["keypair"]["name"], "mine");
    assert_eq!(admin.get(&demos, Some("2.9")).await.body["keypairs"][0]["keypair"]["name"], "admins");
    let for_demo = json!({"keypair": {"name": "given", "public_key": RSA, "user_id": demo.user_id}});
    assert_eq!(
        admin.post("/v2.1/os-keypairs", Some("2.10"), &for_demo).await.body["keypair"]["user_id"],
        json!(demo.user_id)
    );
    assert_eq!(demo.get("/v2.1/os-keypairs/given", None).await.status, 200);
    let del = format!("/v2.1/os-keypairs/mine?user_id={}", demo.user_id);
    assert_eq!(admin.delete(&del, Some("2.10")).await.status, 204);
    demo.get("/v2.1/os-keypairs/mine", None).await.assert_fault(404, "itemNotFound");
}
both!(keypairs_belong_to_users);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keypair_quota_is_enforced() {
    let core = ecs_core::CoreConfig { keypair_quota: 3, ..Default::default() };
    let server = TestServer::start_with(ecs_test_utils::sqlite(), core).await;
    let demo = server.demo().await;
    for i in 0..3 {
        let r = demo
            .post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": format!("k{i}"), "public_key": ED25519}}))
            .await;
        assert_eq!(r.status, 200);
    }
    let over = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "k3", "public_key": ED25519}})).await;
    assert_eq!(over.assert_fault(403, "forbidden"), "Quota exceeded, too many key pairs.");
    server.stop().await;
}
