//! Keystone's auth body: any bytes as `POST /identity/v3/auth/tokens`,
//! through the real router (body reading, `parse_auth`, authentication).
//! A panic is a crash; the route fuzzer (tests/api/fuzz.rs) judges answers.
#![no_main]

use ecsd_fuzz::Served;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let served = Served::get().lock().unwrap();
    served.send("POST", "/identity/v3/auth/tokens", &[], data.to_vec());
});
