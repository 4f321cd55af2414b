//! AK/SK signatures (`ecs_core::signing`): the `Authorization` header's
//! parser and the canonical request over any method, path, query, headers
//! and body. Input, as text: the Authorization value, the method, the path
//! and the query on the first four lines, then `name: value` header lines,
//! an empty line and the body.
//!
//! Beyond not crashing: a request signed by `sign` verifies with the same
//! secret, and fails with another.
#![no_main]

use ecs_core::signing::{self, SignedRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or("");
    let (authorization, method, path, query) = (next(), next(), next(), next());
    let mut headers = Vec::new();
    loop {
        let line = next();
        let Some((name, value)) = line.split_once(':') else { break };
        // A header name as HTTP allows it (the signature's own syntax
        // relies on names without `;`, `,`, `=` or spaces).
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b)) {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    let body: Vec<u8> = lines.collect::<Vec<_>>().join("\n").into_bytes();
    let request = SignedRequest { method, path, query, headers: &headers, body: &body };

    let _ = signing::canonical_uri(path);
    let _ = signing::canonical_query(query);
    let now = chrono::Utc::now();
    if let Ok(auth) = signing::parse_authorization(authorization) {
        let _ = signing::canonical_request(&request, &auth.signed_headers);
        let _ = signing::verify("secret", &auth, &request, now);
    }

    // Round trip: what `sign` produces verifies at the signing date.
    let Ok(signed) = signing::sign("AK", "secret", &request) else { return };
    let auth = signing::parse_authorization(&signed).expect("a header `sign` made parses");
    let date =
        request.header(signing::DATE_HEADER).and_then(|d| signing::parse_date(d).ok()).expect("signed at a date");
    signing::verify("secret", &auth, &request, date).expect("a signed request verifies");
    assert!(signing::verify("another secret", &auth, &request, date).is_err(), "another secret verifies");
});
