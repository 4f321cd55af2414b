//! The web console's files at `/console/`: served to anyone (the pages
//! authenticate to the APIs themselves) with their content types and an
//! ETag, GET and HEAD only, and a 404 for any path with no file (traversal
//! included). Its end-to-end test in a browser is tests/console.

use reqwest::Method;

use crate::{TestServer, both};

async fn console_files_are_served(server: &TestServer) {
    let files = [
        ("/console/", "text/html; charset=utf-8", "<title>ecsd console</title>"),
        ("/console/index.html", "text/html; charset=utf-8", "js/app.js"),
        ("/console/app.css", "text/css; charset=utf-8", "body"),
        ("/console/js/app.js", "text/javascript; charset=utf-8", "import"),
        ("/console/js/api.js", "text/javascript; charset=utf-8", "/identity/v3/auth/tokens"),
        ("/console/js/pages.js", "text/javascript; charset=utf-8", "os-getConsoleOutput"),
        ("/console/vendor/novnc/core/rfb.js", "text/javascript; charset=utf-8", "export default class RFB"),
        ("/console/vendor/novnc/LICENSE.txt", "text/plain; charset=utf-8", "MPL"),
    ];
    for (path, content_type, part) in files {
        // No token: the files are static; the APIs they call want one.
        let r = server.client.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], content_type, "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        assert!(r.text().await.unwrap().contains(part), "{path} lacks {part}");
        // Revalidation: the same ETag answers 304 with no body.
        let again = server.client.get(format!("{}{path}", server.base)).header("if-none-match", &etag).send().await;
        let again = again.unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.bytes().await.unwrap().is_empty());
        let head = server.send(Method::HEAD, path, &[], None).await;
        assert_eq!(head.status, 200, "{path}");
        assert_eq!(head.headers["content-type"], content_type, "{path}");
        // Files are read-only.
        let post = server.send(Method::POST, path, &[], None).await;
        assert_eq!(post.status, 405, "{path}");
        assert_eq!(post.headers["allow"], "GET,HEAD", "{path}");
    }

    // `/console` sends the browser to the directory, where the page's
    // relative links resolve.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = client.get(format!("{}/console", server.base)).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/console/");

    // A path with no file is a 404 (JSON, as any unknown path), whatever
    // the method and whether a token comes along.
    let admin = server.admin().await;
    for path in [
        "/console/nothing",
        "/console/js/nothing.js",
        "/console/js/",
        "/console/vendor/novnc/",
        "/console/../identity/v3",
        "/console/%2e%2e/Cargo.toml",
        "/console/..%2F..%2Fetc%2Fpasswd",
        "/console/index.html/x",
        "/consoles",
    ] {
        for method in [Method::GET, Method::DELETE] {
            for headers in [&[][..], &[("x-auth-token", admin.token.as_str())][..]] {
                let r = server.send(method.clone(), path, headers, None).await;
                if path == "/console/../identity/v3" {
                    // The client normalizes `..` away: Keystone's version document.
                    continue;
                }
                assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
                assert_eq!(r.body["error"]["code"], 404, "{path}: {}", r.body);
                assert!(r.headers.contains_key("x-openstack-request-id"), "{path}");
            }
        }
    }
}
both!(console_files_are_served);
