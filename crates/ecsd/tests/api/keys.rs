//! Issue 16, keys part: ECDSA key pair import, Keystone's default roles
//! and role CRUD, and Nova's project-id URL segments.

use serde_json::json;

use crate::{TestServer, both};

// Made with `ssh-keygen -t ecdsa -b {256,384,521}`; fingerprints from
// `ssh-keygen -l -E md5 -f key.pub` (Nova's: MD5 of the key blob).
const ECDSA: [(&str, &str); 3] = [
    (
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPQdbuKVdHkzUg+R8TGkAcIsUd2F5aRdA+lvBlzdc5WBAdZiv/R9LzIhFHto/OZOEOB7HB/yokCuqbUe61z5WVo= ecdsa256@ecsd",
        "b5:e5:f7:7c:a0:d5:7a:59:3b:bb:97:8d:0a:43:80:6e",
    ),
    (
        "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBIk0l4enVzayqBLsJMyGMG1Ktdol/YKpJKoNYlYS5FFx8ZFLx7PIrqROiQv9IRYtitqD/aiL8ZdMJakcYDfVRQn0V/oQTXpYWQj9i5PnhXJDlFxG+MPFh/CJXs8tF6RZWw== ecdsa384@ecsd",
        "11:f1:18:bb:c4:73:42:e8:28:16:f9:20:49:9a:1d:54",
    ),
    (
        "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAEdeff2duhg5tgHu/oicZDP+KIYro4TwAiykYsAgXPNM99MobrX/hUlcczZubYg4d12d6XMCIKYziM7oE4BDPo/3gD7sbXY2yeaov4WYK7SY2+nXxLcC3n568wQwQCiI0/+6I14Tx+JIwqwsoM+i4dFb3H2bLkyPpinCk85SrCm5Z/Qog== ecdsa521@ecsd",
        "d1:a6:90:60:f0:a6:71:76:d8:0c:21:98:51:ec:51:c8",
    ),
];

// Keys Nova's `cryptography` refuses, each a variant of the P-256 key above:
// the point's last byte flipped (off the curve), the point compressed, and
// the point labelled as a P-384 key.
const BAD_ECDSA: [&str; 3] = [
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPQdbuKVdHkzUg+R8TGkAcIsUd2F5aRdA+lvBlzdc5WBAdZiv/R9LzIhFHto/OZOEOB7HB/yokCuqbUe61z5WVs= bad@ecsd",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAAAhAvQdbuKVdHkzUg+R8TGkAcIsUd2F5aRdA+lvBlzdc5WB bad@ecsd",
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABBBPQdbuKVdHkzUg+R8TGkAcIsUd2F5aRdA+lvBlzdc5WBAdZiv/R9LzIhFHto/OZOEOB7HB/yokCuqbUe61z5WVo= bad@ecsd",
];

async fn ecdsa_keys_import_on_every_curve(server: &TestServer) {
    let demo = server.demo().await;
    for (i, (key, fingerprint)) in ECDSA.iter().enumerate() {
        let body = json!({"keypair": {"name": format!("ec{i}"), "public_key": key}});
        let r = demo.post("/v2.1/os-keypairs", Some("2.2"), &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["keypair"]["fingerprint"], *fingerprint);
        assert_eq!(r.body["keypair"]["type"], "ssh");
        let shown = demo.get(&format!("/v2.1/os-keypairs/ec{i}"), None).await;
        assert_eq!(shown.body["keypair"]["public_key"], *key);
    }
    for key in BAD_ECDSA {
        let r = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "bad", "public_key": key}})).await;
        assert_eq!(r.assert_fault(400, "badRequest"), "Keypair data is invalid: failed to generate fingerprint");
    }
}
both!(ecdsa_keys_import_on_every_curve);
