//! Proves each fixture in tests/support works, so the integration tests built on them can
//! trust them.

mod support;

use std::path::Path;
use std::process::Command;
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
    assert_eq!(v2_status(&reg, &HttpClient::insecure()), 200);
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
fn background_process_streams_and_takes_signals() {
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        "echo ready; echo err >&2; trap 'echo got-int; exit 130' INT; sleep 5 & wait",
    ]);
    let mut p = BackgroundProcess::spawn(cmd);
    assert!(p.wait_for_output("ready", Duration::from_secs(10)));
    assert!(p.wait_for_output("err", Duration::from_secs(10)));
    assert!(!p.wait_for_output("never printed", Duration::from_millis(200)));
    p.signal(libc::SIGINT);
    let out = p.wait(Duration::from_secs(10));
    assert_eq!(out.code(), 130, "{out:?}");
    assert!(out.stdout.contains("got-int"));
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

#[test]
fn stand_in_builder_has_builder_labels_and_env() {
    if !docker_available() {
        return;
    }
    let opts = BuilderOptions {
        run_image_mirrors: vec!["127.0.0.1:2/mirror/run:latest".into()],
        with_images_field: false,
        ..BuilderOptions::with_run_image("127.0.0.1:1/cnbtest/run:1")
    };
    let builder = StandInBuilder::build(&opts);
    let inspect = must_run(
        "docker",
        [
            "image",
            "inspect",
            "--format",
            "{{json .Config}}",
            builder.tag(),
        ],
        Duration::from_secs(60),
    );
    let config: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"CNB_USER_ID=1000") && env.contains(&"CNB_GROUP_ID=1001"),
        "{env:?}"
    );
    assert_eq!(config["User"], "1000:1001");
    let labels = &config["Labels"];
    assert_eq!(
        labels["io.buildpacks.stack.id"],
        "io.buildpacks.stacks.jammy"
    );
    assert!(labels["io.buildpacks.buildpack.order"].is_string());
    assert!(labels["io.buildpacks.buildpack.layers"].is_string());
    let meta: serde_json::Value =
        serde_json::from_str(labels["io.buildpacks.builder.metadata"].as_str().unwrap()).unwrap();
    assert_eq!(meta, opts.metadata_json());
    assert!(meta.get("images").is_none());
    assert_eq!(
        meta["stack"]["runImage"]["image"],
        "127.0.0.1:1/cnbtest/run:1"
    );
    assert_eq!(
        meta["stack"]["runImage"]["mirrors"][0],
        "127.0.0.1:2/mirror/run:latest"
    );
    assert_eq!(
        meta["lifecycle"]["apis"]["platform"]["deprecated"][0],
        "0.2"
    );
    // Omitting the metadata label.
    let bare = StandInBuilder::build(&BuilderOptions {
        raw_metadata: Some(String::new()),
        ..BuilderOptions::default()
    });
    let label = must_run(
        "docker",
        [
            "image",
            "inspect",
            "--format",
            "{{json .Config.Labels}}",
            bare.tag(),
        ],
        Duration::from_secs(60),
    );
    assert!(!label.contains("io.buildpacks.builder.metadata"), "{label}");
}

#[test]
fn stand_in_creator_reports_and_exits_with_the_apps_status() {
    if !docker_available() {
        return;
    }
    let builder = StandInBuilder::build(&BuilderOptions::default());
    let home = TestHome::new();
    let app = home.mkdir("app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(app.join("src/main.txt"), "hello").unwrap();
    std::fs::write(app.join("cnb-test-exit"), "3\n").unwrap();
    let env_dir = home.mkdir("platform-env");
    std::fs::write(env_dir.join("BP_GREETING"), "hi there").unwrap();
    let cache = TestVolume::create();
    let run = || {
        docker_run(&[
            "--user",
            "root",
            "--entrypoint",
            "",
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            "-v",
            &format!("{}:/workspace", app.display()),
            "-v",
            &format!("{}:/platform/env", env_dir.display()),
            "-v",
            &format!("{}:/cache", cache.name()),
            "-e",
            "CNB_PLATFORM_API=0.13",
            builder.tag(),
            "/cnb/lifecycle/creator",
            "-app",
            "/workspace",
            "-log-level",
            "info",
            "example.test/app:1",
        ])
    };
    let first = run();
    assert_eq!(first.code(), 3, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first.stderr.contains("CNB-TEST-STDERR creator ran"),
        "{}",
        first.stderr
    );
    let r = CreatorReport::parse(&first.stdout).unwrap();
    assert!(r.complete);
    assert_eq!(
        r.args,
        [
            "-app",
            "/workspace",
            "-log-level",
            "info",
            "example.test/app:1"
        ]
    );
    assert_eq!(r.flag("-log-level"), Some("info"));
    assert_eq!((r.uid, r.gid), (0, 0));
    assert!(r.docker_socket);
    assert_eq!(r.env("CNB_PLATFORM_API"), Some("0.13"));
    assert_eq!(r.env("CNB_USER_ID"), Some("1000"));
    assert_eq!(r.workspace["src/main.txt"].0, "file");
    assert_eq!(r.workspace["src"].0, "dir");
    assert_eq!(r.platform_env["BP_GREETING"], "hi there");
    assert!(r.cache_mounted && !r.launch_cache_mounted);
    assert_eq!(r.cache_count, Some(1));
    assert_eq!(r.exit, Some(3));
    // The cache volume is reused; the launch cache (not mounted) starts over.
    std::fs::remove_file(app.join("cnb-test-exit")).unwrap();
    let second = run();
    assert_eq!(second.code(), 0);
    let r2 = CreatorReport::parse(&second.stdout).unwrap();
    assert_eq!((r2.cache_count, r2.launch_cache_count), (Some(2), None));
    // As the builder's own user, /workspace files show their owner.
    let as_user = docker_run(&[
        "--entrypoint",
        "",
        builder.tag(),
        "/cnb/lifecycle/creator",
        "x",
    ]);
    let r3 = CreatorReport::parse(&as_user.stdout).unwrap();
    assert_eq!((r3.uid, r3.gid), (1000, 1001));
    assert!(!r3.docker_socket);
    // Not as root with a (root-owned) volume: it cannot chown it, as the real creator.
    let fresh = TestVolume::create();
    let denied = docker_run(&[
        "--entrypoint",
        "",
        "-v",
        &format!("{}:/cache", fresh.name()),
        builder.tag(),
        "/cnb/lifecycle/creator",
        "x",
    ]);
    assert_eq!(denied.code(), 1, "{}\n{}", denied.stdout, denied.stderr);
    assert!(
        denied.stderr.contains("failed to chown volumes"),
        "{}",
        denied.stderr
    );
    assert!(
        containers_from(builder.tag()).is_empty(),
        "--rm leaves nothing"
    );
}

#[test]
fn run_image_pushes_to_plain_tls_and_auth_registries() {
    if !docker_available() {
        return;
    }
    let run = StandInBuilder::build_run_image();
    let plain = TestRegistry::start(RegistryOptions::plain());
    let digest = push_image_as(run.tag(), &plain.image("cnbtest/run", "1"));
    let got = fetch_manifest(&plain, "cnbtest/run", "1").unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(sha256_digest(&got.body), digest);
    // The temporary tag is gone again.
    assert!(docker_images_with_prefix(&plain.host()).is_empty());
    // A sweeper removes what a test (or cnb) left tagged from a registry, and volumes.
    {
        let _sweeper = DockerSweeper::new()
            .registry(&plain)
            .volumes(&unique_name("vol"));
        must_run(
            "docker",
            ["tag", run.tag(), &plain.image("pulled/by-cnb", "1")],
            Duration::from_secs(30),
        );
        assert_eq!(docker_images_with_prefix(&plain.host()).len(), 1);
    }
    assert!(docker_images_with_prefix(&plain.host()).is_empty());
    assert!(
        docker_images_with_prefix(run.tag()).len() == 1,
        "the run image itself stays"
    );

    let secure = TestRegistry::start(RegistryOptions::plain().tls().auth());
    let digest = push_image_to(run.tag(), &secure, "cnbtest/run:2");
    let got = fetch_manifest(&secure, "cnbtest/run", "2").unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.header("docker-content-digest"), Some(digest.as_str()));
}

#[test]
fn netns_registry_is_reachable_from_the_host_and_refused_by_docker() {
    let Some(host) = NetnsHost::start() else {
        return;
    };
    assert!(host.ip().to_string().starts_with("198.18."));
    let reg = TestRegistry::start_in_netns(&host, RegistryOptions::plain());
    assert_eq!(reg.host(), format!("{}:5000", host.ip()));
    let digest = push_test_image(&reg, "insecure/app", "1");
    let got = fetch_manifest(&reg, "insecure/app", "1").unwrap();
    assert_eq!(got.header("docker-content-digest"), Some(digest.as_str()));
    if docker_available() {
        let pull = run_with_timeout(
            std::process::Command::new("docker").args(["pull", &reg.image("insecure/app", "1")]),
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(
            !pull.success(),
            "the daemon must refuse a non-loopback plain-HTTP registry"
        );
        assert!(pull.stderr.contains("HTTPS"), "{}", pull.stderr);
    }
    let name = host.name().to_string();
    drop(reg);
    drop(host);
    let left = must_run("ip", ["netns", "list"], Duration::from_secs(10));
    assert!(!left.contains(&name), "{left}");
}

#[test]
fn tied_processes_outlive_the_thread_that_started_them() {
    let mut child = std::thread::spawn(|| {
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("30");
        spawn_tied(cmd).unwrap()
    })
    .join()
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "killed with its thread"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn published_builder_is_pullable_and_names_its_run_image() {
    if !docker_available() {
        return;
    }
    let reg = TestRegistry::start(RegistryOptions::plain().tls().auth());
    let host = reg.host();
    {
        let published = PublishedBuilder::publish_default(&reg);
        assert!(
            published
                .builder
                .starts_with(&format!("{host}/cnbtest/builder-"))
        );
        let (repo, tag) = published.run_image[host.len() + 1..]
            .split_once(':')
            .unwrap();
        let run = fetch_manifest(&reg, repo, tag).unwrap();
        assert_eq!(
            run.header("docker-content-digest"),
            Some(published.run_image_digest.as_str())
        );
        let (repo, tag) = published.builder[host.len() + 1..].split_once(':').unwrap();
        let cfg_digest = fetch_manifest(&reg, repo, tag).unwrap().json()["config"]["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let cfg = HttpClient::for_registry(&reg)
            .get(&format!("{}/v2/{repo}/blobs/{cfg_digest}", reg.url()))
            .unwrap()
            .json();
        let meta: serde_json::Value = serde_json::from_str(
            cfg["config"]["Labels"]["io.buildpacks.builder.metadata"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(meta["images"][0]["image"], published.run_image.as_str());
    }
    assert!(docker_images_with_prefix(&host).is_empty());
}

#[test]
fn daemon_takes_any_loopback_certificate_but_checks_netns_ones() {
    if !docker_available() {
        return;
    }
    let pull = |image: &str| {
        run_with_timeout(
            std::process::Command::new("docker").args(["pull", "-q", image]),
            Duration::from_secs(60),
        )
        .unwrap()
    };
    // 127.0.0.0/8 is an insecure registry to the daemon: an unknown CA is accepted.
    let local = TestRegistry::start(RegistryOptions::plain().tls());
    push_test_image(&local, "cnbtest/tls", "1");
    let _local_sweeper = DockerSweeper::new().registry(&local);
    pull(&local.image("cnbtest/tls", "1")).assert_success();

    // A TLS registry in a network namespace is verified: refused until trusted.
    let Some(host) = NetnsHost::start() else {
        return;
    };
    let remote = TestRegistry::start_in_netns(&host, RegistryOptions::plain().tls());
    push_test_image(&remote, "cnbtest/tls", "1");
    let _remote_sweeper = DockerSweeper::new().registry(&remote);
    let image = remote.image("cnbtest/tls", "1");
    let refused = pull(&image);
    assert!(!refused.success());
    assert!(refused.stderr.contains("certificate"), "{}", refused.stderr);
    {
        let _trust = remote.trust_in_docker();
        pull(&image).assert_success();
    }
    let trust_dir = format!("/etc/docker/certs.d/{}", remote.host());
    assert!(!std::path::Path::new(&trust_dir).exists());
}

#[test]
fn ipv6_loopback_registries_work() {
    let plain = TestRegistry::start(RegistryOptions::plain().ipv6());
    assert!(plain.host().starts_with("[::1]:"), "{}", plain.host());
    let digest = push_test_image(&plain, "v6/app", "1");
    assert_eq!(
        fetch_manifest(&plain, "v6/app", "1")
            .unwrap()
            .header("docker-content-digest"),
        Some(digest.as_str())
    );
    let tls = TestRegistry::start(RegistryOptions::plain().ipv6().tls());
    assert_eq!(
        v2_status(&tls, &HttpClient::trusting(tls.cert_path().unwrap())),
        200
    );
}

#[test]
fn the_real_lifecycle_and_pack_are_built_at_their_pins() {
    for version in LifecycleVersion::ALL {
        let Some(built) = support::world::lifecycle(version) else {
            return;
        };
        let out = run_with_timeout(
            Command::new(built.bin_dir().join("lifecycle")).arg("-version"),
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(out.stdout.trim(), version.version(), "{}", out.stderr);
        for phase in support::world::PHASES {
            let link = std::fs::read_link(built.bin_dir().join(phase)).unwrap();
            assert_eq!(link, Path::new("lifecycle"), "{phase}");
        }
        assert!(built.bin_dir().join("launcher").is_file());
        let descriptor = std::fs::read_to_string(built.descriptor()).unwrap();
        assert!(
            descriptor.contains(&format!("\"{}\"]", version.max_platform_api())),
            "{descriptor}"
        );
        assert!(descriptor.contains(&format!("version = \"{}\"", version.version())));
    }
    let Some(pack) = support::world::pack() else {
        return;
    };
    let out = run_with_timeout(Command::new(pack).arg("version"), Duration::from_secs(30)).unwrap();
    assert_eq!(out.stdout.trim(), "0.40.9", "{}", out.stderr);
}

#[test]
fn a_real_builder_carries_what_pack_writes() {
    if !docker_available() {
        return;
    }
    let run_image = format!("127.0.0.1:1/cnbtest/{}-run:latest", unique_name("smoke"));
    let Some(made) = RealBuilder::create(RealBuilderOptions::new(&run_image)) else {
        return;
    };
    let inspected: serde_json::Value = serde_json::from_str(&must_run(
        "docker",
        ["image", "inspect", made.tag()],
        Duration::from_secs(60),
    ))
    .unwrap();
    let config = &inspected[0]["Config"];
    let labels = &config["Labels"];
    let metadata: serde_json::Value =
        serde_json::from_str(labels["io.buildpacks.builder.metadata"].as_str().unwrap()).unwrap();
    assert_eq!(metadata["images"][0]["image"], run_image);
    assert_eq!(metadata["lifecycle"]["version"], "0.21.17");
    assert_eq!(metadata["createdBy"]["name"], "Pack CLI");
    assert!(
        labels["io.buildpacks.buildpack.order"]
            .as_str()
            .unwrap()
            .contains("cnb-test/hello")
    );
    assert!(
        labels["io.buildpacks.buildpack.layers"]
            .as_str()
            .unwrap()
            .contains("cnb-test/hello")
    );
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(env.contains(&"CNB_USER_ID=1000") && env.contains(&"CNB_GROUP_ID=1001"));
    let listing = docker_run(&[
        "--entrypoint",
        "",
        made.tag(),
        "/bin/sh",
        "-c",
        "ls /cnb/lifecycle && cat /cnb/run.toml /cnb/stack.toml /cnb/order.toml",
    ]);
    for expected in [
        "creator",
        "launcher",
        "analyzer",
        &run_image,
        "cnb-test/hello",
    ] {
        assert!(
            listing.stdout.contains(expected),
            "{expected}: {}",
            listing.stdout
        );
    }
}

#[test]
fn the_test_cluster_runs_the_pinned_kube_apiserver_and_checks_credentials() {
    let Some(cluster) = TestCluster::start() else {
        return;
    };
    let with_token = HttpClient::trusting(&cluster.ca_path())
        .with_authorization(Some(format!("Bearer {}", cluster.token())));
    let version = with_token
        .get(&format!("{}/version", cluster.server()))
        .unwrap();
    assert_eq!(version.status, 200, "{}", version.text());
    assert_eq!(
        version.json()["gitVersion"],
        format!("v{}", support::world::KUBERNETES_VERSION)
    );
    // Anonymous requests are refused: a test that gets an answer sent credentials.
    let namespaces = format!("{}/api/v1/namespaces", cluster.server());
    let anonymous = HttpClient::trusting(&cluster.ca_path())
        .get(&namespaces)
        .unwrap();
    assert_eq!(anonymous.status, 401);
    // Created, then replaced: the API holds the last data written.
    cluster.set_local_registry_hosting(&[("localRegistryHosting.v1", "host: a:1\n")]);
    cluster.set_local_registry_hosting(&[("localRegistryHosting.v1", "host: b:2\n")]);
    let read = with_token
        .get(&format!(
            "{}/api/v1/namespaces/{HOSTING_NAMESPACE}/configmaps/{HOSTING_NAME}",
            cluster.server()
        ))
        .unwrap();
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(
        read.json()["data"]["localRegistryHosting.v1"],
        "host: b:2\n"
    );
}
