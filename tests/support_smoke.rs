//! Proves each fixture in tests/support works, so the integration tests built on them can
//! trust them.

mod support;

use std::time::{Duration, Instant};

use support::*;

fn v2_status(reg: &TestRegistry, client: &HttpClient) -> u16 {
    client
        .get(&format!("{}/v2/", reg.url()))
        .unwrap_or_else(|e| panic!("{}/v2/: {e}", reg.url()))
        .status
}

#[test]
fn plain_registry_answers_v2() {
    let reg = TestRegistry::start(RegistryOptions::plain());
    assert!(reg.host().starts_with("127.0.0.1:"));
    assert_eq!(reg.url(), format!("http://{}", reg.host()));
    assert!(reg.cert_path().is_none() && reg.credentials().is_none());
    assert_eq!(v2_status(&reg, &HttpClient::new()), 200);
}

#[test]
fn tls_registry_is_verified_with_its_ca_only() {
    let reg = TestRegistry::start(RegistryOptions::plain().tls());
    assert_eq!(reg.url(), format!("https://{}", reg.host()));
    let ca = reg.cert_path().expect("TLS registry has a CA");
    assert!(reg.cert_pem().unwrap().contains("BEGIN CERTIFICATE"));
    assert_eq!(v2_status(&reg, &HttpClient::trusting(ca)), 200);
    // Also valid for `localhost`.
    let local = format!("https://localhost:{}/v2/", reg.port());
    assert_eq!(HttpClient::trusting(ca).get(&local).unwrap().status, 200);
    // Without the CA the certificate is not trusted, and plain HTTP is not served.
    let err = HttpClient::new()
        .get(&format!("{}/v2/", reg.url()))
        .unwrap_err();
    assert!(
        err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );
    let plain = HttpClient::new()
        .get(&format!("http://{}/v2/", reg.host()))
        .unwrap();
    assert_eq!(plain.status, 400, "plain HTTP to a TLS port");
}

#[test]
fn auth_registry_wants_basic_credentials() {
    let reg = TestRegistry::start(RegistryOptions::plain().auth());
    let creds = reg.credentials().expect("credentials");
    let url = format!("{}/v2/", reg.url());
    let anon = HttpClient::new().get(&url).unwrap();
    assert_eq!(anon.status, 401);
    assert!(
        anon.header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let ok = HttpClient::new()
        .with_authorization(Some(creds.basic_header()))
        .get(&url)
        .unwrap();
    assert_eq!(ok.status, 200);
    let wrong = Credentials {
        username: creds.username.clone(),
        password: "wrong".into(),
    };
    let bad = HttpClient::new()
        .with_authorization(Some(wrong.basic_header()))
        .get(&url)
        .unwrap();
    assert_eq!(bad.status, 401);
}

#[test]
fn tls_auth_registry_round_trip() {
    let reg = TestRegistry::start(RegistryOptions::plain().tls().auth());
    let digest = push_test_image(&reg, "secure/app", "1");
    let got = fetch_manifest(&reg, "secure/app", "1").unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.header("docker-content-digest"), Some(digest.as_str()));
}

#[test]
fn push_then_pull_manifest_round_trip() {
    let reg = TestRegistry::start(RegistryOptions::plain());
    let digest = push_test_image(&reg, "app/run", "1");
    assert!(digest.starts_with("sha256:") && digest.len() == 71);
    let got = fetch_manifest(&reg, "app/run", "1").unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some(DOCKER_MANIFEST));
    assert_eq!(sha256_digest(&got.body), digest);
    let manifest = got.json();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let blob = HttpClient::new()
        .get(&format!("{}/v2/app/run/blobs/{layer}", reg.url()))
        .unwrap();
    assert_eq!(blob.status, 200);
    assert_eq!(sha256_digest(&blob.body), layer);
    // Same content on another registry gives the same digest; a marker changes it.
    let other = TestRegistry::start(RegistryOptions::plain());
    assert_eq!(push_test_image(&other, "elsewhere/run", "1"), digest);
    assert_ne!(
        push_test_image_marked(&other, "app/run", "1", "mirror"),
        digest
    );
    assert_eq!(
        fetch_manifest(&reg, "app/run", "missing").unwrap().status,
        404
    );
}

#[test]
fn index_has_both_platforms() {
    let reg = TestRegistry::start(RegistryOptions::plain());
    let pushed = push_test_index(&reg, "multi/app", "1");
    let got = fetch_manifest(&reg, "multi/app", "1").unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some(OCI_INDEX));
    assert_eq!(sha256_digest(&got.body), pushed.digest);
    let index = got.json();
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let arm = pushed.digest_for("linux/arm64").unwrap();
    assert_ne!(arm, pushed.digest_for("linux/amd64").unwrap());
    let child = fetch_manifest(&reg, "multi/app", arm).unwrap();
    assert_eq!(child.status, 200);
    assert_eq!(child.json()["config"]["mediaType"], OCI_CONFIG);
}

#[test]
fn proxy_registry_serves_its_remote() {
    let remote = TestRegistry::start(RegistryOptions::plain());
    let digest = push_test_image(&remote, "library/busybox", "latest");
    let cache = TestRegistry::start(RegistryOptions::plain().proxy_of(&remote));
    let got = fetch_manifest(&cache, "library/busybox", "latest").unwrap();
    assert_eq!(got.status, 200, "{}\n{}", got.text(), cache.log());
    assert_eq!(got.header("docker-content-digest"), Some(digest.as_str()));
    // Pushes to a pull-through cache are refused.
    let client = HttpClient::new();
    let push = client
        .request(
            "POST",
            &format!("{}/v2/other/app/blobs/uploads/", cache.url()),
            &[],
            None,
        )
        .unwrap();
    assert_eq!(push.status, 405, "{}", push.text());
}

#[test]
fn blackhole_accepts_and_never_answers() {
    let hole = Blackhole::start();
    let client = HttpClient::with_timeout(None, Duration::from_millis(700));
    let started = Instant::now();
    let err = client
        .get(&format!("http://{}/v2/", hole.host()))
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        err.to_lowercase().contains("timed out") || err.contains("timeout"),
        "{err}"
    );
    assert!(waited >= Duration::from_millis(600), "{waited:?}");
    assert!(hole.connections() >= 1);
}

#[test]
fn refused_addr_is_refused() {
    let addr = refused_addr();
    assert!(addr.ip().is_loopback());
    let err = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn recording_proxy_forwards_and_records_headers() {
    let backend = TestRegistry::start(RegistryOptions::plain());
    let digest = push_test_image(&backend, "app/run", "1");
    let proxy = RecordingProxy::start(&backend);
    let client = HttpClient::new();
    let url = format!("{}/v2/app/run/manifests/1", proxy.url());
    let got = client
        .request("GET", &url, &[("accept", MANIFEST_ACCEPT)], None)
        .unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(sha256_digest(&got.body), digest);
    let head = client
        .request(
            "HEAD",
            &url,
            &[
                ("accept", MANIFEST_ACCEPT),
                ("authorization", "Basic c2VjcmV0"),
            ],
            None,
        )
        .unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(got.body.len().to_string().as_str())
    );
    let seen = proxy.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/v2/app/run/manifests/1")
    );
    assert!(!seen[0].has_authorization());
    assert_eq!(seen[1].method, "HEAD");
    assert_eq!(seen[1].header("Authorization"), Some("Basic c2VjcmV0"));
    // Pushing through the proxy works too (upload Locations are rewritten to the proxy).
    proxy.clear();
    TestImage::new().marker("through the proxy").push_with(
        &client,
        &proxy.url(),
        "pushed/app",
        "2",
    );
    assert!(proxy.requests().iter().any(|r| r.method == "PUT"));
    assert_eq!(
        fetch_manifest(&backend, "pushed/app", "2").unwrap().status,
        200
    );
}

#[test]
fn creator_report_parses() {
    let text = "noise\nCNB-TEST begin\nCNB-TEST argc 3\nCNB-TEST arg 0 -app\nCNB-TEST arg 1 /workspace\n\
                CNB-TEST arg 2 img\nCNB-TEST env A=b=c\nCNB-TEST docker-socket yes\nCNB-TEST uid 0\n\
                CNB-TEST gid 0\nCNB-TEST workspace file 1000:1001 a b.txt\nCNB-TEST platform-env K=v w\n\
                CNB-TEST mounted cache yes\nCNB-TEST mounted launch-cache no\nCNB-TEST count cache 2\n\
                CNB-TEST count launch-cache unwritable\nCNB-TEST exit 3\nCNB-TEST end\n";
    let r = CreatorReport::parse(text).unwrap();
    assert_eq!(r.args, ["-app", "/workspace", "img"]);
    assert_eq!(r.flag("-app"), Some("/workspace"));
    assert_eq!(r.env("A"), Some("b=c"));
    assert!(r.docker_socket && r.cache_mounted && !r.launch_cache_mounted);
    assert_eq!(r.workspace["a b.txt"], ("file".to_string(), 1000, 1001));
    assert_eq!(r.platform_env["K"], "v w");
    assert_eq!((r.cache_count, r.launch_cache_count), (Some(2), None));
    assert_eq!(r.exit, Some(3));
    assert!(r.complete);
    assert!(CreatorReport::parse("nothing here").is_err());
    assert!(CreatorReport::parse("CNB-TEST begin\nCNB-TEST bogus 1\n").is_err());
}

#[test]
fn cnb_cmd_is_isolated_in_its_home() {
    let home = TestHome::new();
    let out = run_cnb(&home, ["config", "path"]);
    // `config path` may not be implemented yet; when it is, it must point into the home.
    if out.success() {
        assert_eq!(out.stdout.trim(), home.config_path().display().to_string());
    }
    let creds = Credentials {
        username: "u".into(),
        password: "p".into(),
    };
    let path = home.write_docker_auth(&[("127.0.0.1:5000", &creds)]);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(json["auths"]["127.0.0.1:5000"]["auth"], "dTpw");
}
