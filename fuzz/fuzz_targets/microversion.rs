//! The Nova microversion headers: any bytes in `OpenStack-API-Version`
//! and (after a NUL) `X-OpenStack-Nova-API-Version`. A version accepted is
//! within the served range, and never read from a compute entry that is not
//! ASCII.
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use ecs_api::nova::{microversion, MAX_VERSION, MIN_VERSION};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (modern, legacy) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let mut headers = HeaderMap::new();
    let modern_sent = HeaderValue::from_bytes(modern).map(|v| headers.append("openstack-api-version", v)).is_ok();
    if let Some(Ok(v)) = legacy.map(HeaderValue::from_bytes) {
        headers.append("x-openstack-nova-api-version", v);
    }
    let Ok(version) = microversion::negotiate(&headers) else { return };
    assert!((MIN_VERSION..=MAX_VERSION).contains(&version), "{version} served");
    // `compute ２.１` is no version: a non-ASCII entry naming the compute
    // service is refused, not served as the default. (Other services'
    // entries, and later compute ones, are not read.)
    if let Ok(text) = std::str::from_utf8(modern).map_err(drop).and_then(|t| if modern_sent { Ok(t) } else { Err(()) })
    {
        // The first entry naming compute is the one read, as Nova's
        // microversion_parse reads it.
        // Only ASCII whitespace separates words, as in HTTP.
        let names_compute = |e: &&str| {
            let mut words = e.split(|c: char| c.is_ascii_whitespace()).filter(|w| !w.is_empty());
            words.next().is_some_and(|s| s.eq_ignore_ascii_case("compute"))
        };
        if let Some(entry) = text.split(',').find(names_compute) {
            assert!(entry.is_ascii(), "{text:?} served as {version}");
        }
    }
});
