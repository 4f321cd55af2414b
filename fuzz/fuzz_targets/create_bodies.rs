//! The JSON bodies of the create routes, through the real router as the
//! demo project's member: the first byte picks the route (`'0'`…`'6'` in
//! the seed corpus), the rest is the body. A panic is a crash; the route
//! fuzzer (tests/api/fuzz.rs) judges answers.
#![no_main]

use ecsd_fuzz::Served;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let served = Served::get().lock().unwrap();
    let project = &served.demo_project;
    let (path, version) = match which.wrapping_sub(b'0') % 7 {
        0 => ("/v2.1/servers".to_string(), "compute 2.1"),
        1 => ("/v2.1/servers".to_string(), "compute latest"),
        2 => (format!("/v1/{project}/cloudservers"), ""),
        3 => (format!("/v1.1/{project}/cloudservers"), ""),
        4 => ("/v2.1/os-keypairs".to_string(), "compute latest"),
        5 => ("/networking/v2.0/networks".to_string(), ""),
        _ => ("/networking/v2.0/ports".to_string(), ""),
    };
    let mut headers = vec![("x-auth-token", served.member_token.as_str())];
    if !version.is_empty() {
        headers.push(("openstack-api-version", version));
    }
    served.send("POST", &path, &headers, body.to_vec());
});
