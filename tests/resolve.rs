//! `cnb resolve` against real registries on loopback: mirror order, probing and its
//! timeout, failure reasons, insecure registries, credentials and platform choice.
//!
//! No Docker is needed: the registries are `docker-registry` processes and the images
//! are pushed by the tests themselves.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use snapbox::str;
use support::*;

/// Generous slack on top of the probe timeout for process start-up and a busy machine.
const MARGIN: Duration = Duration::from_millis(2500);

fn resolve_json(home: &TestHome, args: &[&str]) -> (Output, Value) {
    let mut all = vec!["resolve", "--output", "json"];
    all.extend_from_slice(args);
    let out = run_cnb(home, &all);
    let value: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout, out.stderr
        )
    });
    (out, value)
}

fn mirror_flag(registry: &str, mirror: &str) -> String {
    format!("--registry-mirror={registry}={mirror}")
}

fn candidates(entry: &Value) -> Vec<(String, String, Option<String>)> {
    entry["candidates"]
        .as_array()
        .expect("candidates array")
        .iter()
        .map(|c| {
            (
                c["location"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// A loopback HTTP server that answers every request with 503.
struct Unavailable {
    host: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Unavailable {
    fn start() -> Unavailable {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let host = listener.local_addr().expect("addr").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stop2.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 4096];
                        let _ = stream.read(&mut buf);
                        let _ = stream.write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nunavailable\n",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Unavailable {
            host,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Unavailable {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn black_holed_first_mirror_costs_at_most_the_timeout() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    let mirror = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&origin, "app/run", "1");
    push_test_image(&mirror, "app/run", "1");
    let hole = Blackhole::start();

    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let (out, json) = resolve_json(
        &home,
        &[
            &origin.image("app/run", "1"),
            &mirror_flag(&origin.host(), &hole.host()),
            &mirror_flag(&origin.host(), &mirror.host()),
            "--registry-timeout",
            "2",
        ],
    );
    let took = started.elapsed();
    out.assert_success();
    assert!(hole.connections() > 0, "the black hole was probed");
    let entry = &json[0];
    assert_eq!(entry["chosen"], format!("{}/app/run:1", mirror.host()));
    let c = candidates(entry);
    assert_eq!(c[0].0, format!("{}/app/run:1", hole.host()));
    assert_eq!(c[0].1, "failed");
    assert!(c[0].2.as_deref().unwrap().contains("timed out"), "{c:?}");
    assert_eq!(c[1].1, "chosen");
    assert_eq!(c[2], (origin.image("app/run", "1"), "unused".into(), None));
    assert!(
        took < timeout + MARGIN,
        "took {took:?}, timeout {timeout:?}"
    );
    home.assert_text_with(
        &out.stderr,
        str![[r#"
warning: mirror [HOLE] failed for [ORIGIN]/app/run:1: no answer within 2000 ms (timed out)
Using mirror [MIRROR] for [ORIGIN]/app/run:1

"#]],
        &[
            ("[ORIGIN]", origin.host()),
            ("[MIRROR]", mirror.host()),
            ("[HOLE]", hole.host()),
        ],
    );
}

#[test]
fn mirror_without_the_image_falls_back_to_the_original() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    let mirror = TestRegistry::start(RegistryOptions::plain());
    let digest = push_test_image(&origin, "team/app", "2");
    home.write_config(&format!(
        "[registry-mirrors]\n\"{}\" = \"{}\"\n",
        origin.host(),
        mirror.host()
    ));

    let (out, json) = resolve_json(&home, &[&origin.image("team/app", "2")]);
    out.assert_success();
    let entry = &json[0];
    assert_eq!(entry["chosen"], origin.image("team/app", "2"));
    assert_eq!(entry["digest"], digest);
    let c = candidates(entry);
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].1, "failed");
    assert!(c[0].2.as_deref().unwrap().contains("404"), "{c:?}");
    assert_eq!(c[1].1, "chosen");
    home.assert_text_with(
        &out.stderr,
        str![[r#"
warning: mirror [MIRROR] failed for [ORIGIN]/team/app:2: image not found (404)
Using [ORIGIN] for [ORIGIN]/team/app:2 (no mirror could serve it)

"#]],
        &[("[ORIGIN]", origin.host()), ("[MIRROR]", mirror.host())],
    );
}

#[test]
fn pull_through_cache_mirror_is_chosen() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    let cache = TestRegistry::start(RegistryOptions::plain().proxy_of(&origin));
    push_test_image(&origin, "library/busy", "latest");
    let image = format!("{}/library/busy", origin.host());
    let (out, json) = resolve_json(
        &home,
        &[
            &image,
            &mirror_flag(&origin.host(), &format!("http://{}", cache.host())),
        ],
    );
    out.assert_success();
    assert_eq!(
        json[0]["chosen"],
        format!("{}/library/busy:latest", cache.host())
    );
    assert_eq!(json[0]["image"], image, "the image as given");
    home.assert_text_with(
        &out.stderr,
        str![[r#"
Using mirror http://[CACHE] for [ORIGIN]/library/busy:latest

"#]],
        &[("[ORIGIN]", origin.host()), ("[CACHE]", cache.host())],
    );
}

#[test]
fn mirror_path_prefix_and_wildcard() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    let mirror = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&mirror, "cache/org/app", "1");
    home.write_config(&format!(
        "[registry-mirrors]\n\"*\" = [\"{}/cache\"]\n",
        mirror.host()
    ));
    let (out, json) = resolve_json(&home, &[&origin.image("org/app", "1")]);
    out.assert_success();
    assert_eq!(
        json[0]["chosen"],
        format!("{}/cache/org/app:1", mirror.host())
    );
}

#[test]
fn every_dead_candidate_is_reported_with_its_own_reason() {
    let home = TestHome::new();
    let refused = refused_addr().to_string();
    let hole = Blackhole::start();
    let empty = TestRegistry::start(RegistryOptions::plain());
    let auth = TestRegistry::start(RegistryOptions::plain().auth());
    let tls = TestRegistry::start(RegistryOptions::plain().tls());
    let unavailable = Unavailable::start();
    let origin = &unavailable.host;
    let image = format!("{origin}/app/x:1");

    let started = Instant::now();
    let args = [
        "resolve".to_string(),
        image.clone(),
        mirror_flag(origin, &refused),
        mirror_flag(origin, &hole.host()),
        mirror_flag(origin, &empty.host()),
        mirror_flag(origin, &auth.host()),
        mirror_flag(origin, &tls.host()),
        "--registry-timeout".into(),
        "1.5".into(),
        "-vv".into(),
    ];
    let out = run_cnb(&home, &args);
    let took = started.elapsed();
    assert_eq!(out.code(), 1, "{}\n{}", out.stdout, out.stderr);
    assert!(took < Duration::from_millis(1500) + MARGIN, "took {took:?}");

    let err = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line:\n{}", out.stderr));
    let expect = [
        (refused.clone(), "connection refused"),
        (hole.host(), "timed out"),
        (empty.host(), "not found (404)"),
        (auth.host(), "unauthorized"),
        (tls.host(), "TLS"),
        (origin.clone(), "503"),
    ];
    for (host, reason) in &expect {
        let needle = format!("{host}/app/x:1: ");
        let at = err
            .find(&needle)
            .unwrap_or_else(|| panic!("{host} not named in: {err}"));
        let rest = &err[at + needle.len()..];
        let reason_text = rest.split("; 127.0.0.1").next().unwrap_or(rest);
        assert!(
            reason_text.contains(reason),
            "{host}: expected '{reason}' in '{reason_text}'"
        );
    }
    // stdout still shows every candidate.
    for (host, _) in &expect {
        assert!(out.stdout.contains(host.as_str()), "{}", out.stdout);
    }
}

#[test]
fn self_signed_registry_needs_an_insecure_entry() {
    let home = TestHome::new();
    let tls = TestRegistry::start(RegistryOptions::plain().tls());
    push_test_image(&tls, "app", "1");
    let image = tls.image("app", "1");

    let refused = run_cnb(&home, ["resolve", &image]);
    assert_eq!(refused.code(), 1, "{}", refused.stderr);
    home.assert_text_with(&refused.stderr, str![[r#"
error: could not fetch [TLS]/app:1 from any location: [TLS]/app:1: TLS failure: the server's certificate is not trusted (unknown issuer, e.g. self-signed) (if [TLS]'s certificate comes from a private CA, trust that CA for it with `cnb config registry-ca add [TLS] <PEM-FILE>` (or --registry-ca [TLS]=<PEM-FILE> for one run); otherwise, if you trust [TLS], allow plain HTTP and unverified TLS for it with `cnb config insecure-registries add [TLS]` (or --insecure-registry [TLS] for one run))

"#]], &[("[TLS]", tls.host())]);

    run_cnb(&home, ["config", "insecure-registries", "add", &tls.host()]).assert_success();
    let (out, json) = resolve_json(&home, &[&image]);
    out.assert_success();
    assert_eq!(json[0]["chosen"], image);

    // The flag works for one run, without the config.
    let other = TestHome::new();
    let (out, json) = resolve_json(&other, &[&image, "--insecure-registry", &tls.host()]);
    out.assert_success();
    assert_eq!(json[0]["chosen"], image);
}

#[test]
fn cidr_entry_covers_ip_literals_and_host_names() {
    let home = TestHome::new();
    let tls = TestRegistry::start(RegistryOptions::plain().tls());
    push_test_image(&tls, "app", "1");
    home.write_config("insecure-registries = [\"127.0.0.0/8\"]\n");

    let (out, json) = resolve_json(&home, &[&tls.image("app", "1")]);
    out.assert_success();
    assert_eq!(json[0]["chosen"], tls.image("app", "1"));

    // `localhost` is a host name: it is covered because it resolves into 127.0.0.0/8.
    let by_name = format!("localhost:{}/app:1", tls.port());
    let (out, json) = resolve_json(&home, &[&by_name]);
    out.assert_success();
    assert_eq!(json[0]["chosen"], by_name);

    // Without the entry, loopback does not skip certificate checks.
    let bare = TestHome::new();
    let out = run_cnb(&bare, ["resolve", &by_name]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("TLS"), "{}", out.stderr);
}

#[test]
fn credentials_go_to_their_own_host_only() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain().auth());
    push_test_image(&origin, "private/app", "1");
    let proxy = RecordingProxy::start(&origin);
    let origin_creds = origin.credentials().unwrap().clone();
    let mirror_creds = Credentials {
        username: "mirror-user".into(),
        password: "mirror-only-pass".into(),
    };
    home.write_docker_auth(&[
        (&origin.host(), &origin_creds),
        (&proxy.host(), &mirror_creds),
    ]);

    let image = origin.image("private/app", "1");
    let mut cmd = cnb_cmd(&home);
    cmd.args([
        "-vv",
        "resolve",
        &image,
        &mirror_flag(&origin.host(), &format!("http://{}", proxy.host())),
    ]);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(60)).unwrap();
    out.assert_success();
    assert!(
        out.stdout.contains(&format!("{image} -> {image}")),
        "{}",
        out.stdout
    );

    let requests = proxy.requests();
    assert!(!requests.is_empty(), "the mirror was probed");
    let origin_header = origin_creds.basic_header();
    for r in &requests {
        if let Some(value) = r.header("authorization") {
            assert_ne!(
                value, origin_header,
                "origin credentials reached the mirror"
            );
            assert_eq!(value, mirror_creds.basic_header());
        }
    }
    assert!(
        requests.iter().any(|r| r.has_authorization()),
        "the mirror's own credentials were used: {requests:?}"
    );

    // Nothing secret in any output, -vv included.
    let everything = format!("{}\n{}", out.stdout, out.stderr);
    for secret in [
        origin_creds.password.as_str(),
        &origin_creds.docker_auth_field(),
        mirror_creds.password.as_str(),
        &mirror_creds.docker_auth_field(),
    ] {
        assert!(
            !everything.contains(secret),
            "secret in output:\n{everything}"
        );
    }
    assert!(
        out.stderr.contains("GET http://"),
        "-vv shows requests: {}",
        out.stderr
    );
}

#[test]
fn missing_credentials_are_a_401_reason() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain().auth());
    push_test_image(&origin, "private/app", "1");
    let out = run_cnb(&home, ["resolve", &origin.image("private/app", "1")]);
    assert_eq!(out.code(), 1);
    home.assert_text_with(&out.stderr, str![[r#"
error: could not fetch [ORIGIN]/private/app:1 from any location: [ORIGIN]/private/app:1: unauthorized: 401 Unauthorized; no credentials for [ORIGIN] in the Docker config (docker login [ORIGIN])

"#]], &[("[ORIGIN]", origin.host())]);
}

#[test]
fn json_has_the_documented_shape() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&origin, "app", "1");
    let refused = refused_addr().to_string();
    let (out, json) = resolve_json(
        &home,
        &[
            &origin.image("app", "1"),
            &mirror_flag(&origin.host(), &refused),
        ],
    );
    out.assert_success();
    let list = json.as_array().expect("an array");
    assert_eq!(list.len(), 1);
    let entry = list[0].as_object().unwrap();
    for key in ["image", "chosen", "candidates"] {
        assert!(entry.contains_key(key), "{key} missing: {entry:?}");
    }
    let cands = entry["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 2);
    for c in cands {
        let c = c.as_object().unwrap();
        for key in ["location", "status", "reason", "millis"] {
            assert!(c.contains_key(key), "{key} missing: {c:?}");
        }
        assert!(c["millis"].is_u64(), "{c:?}");
    }
    assert_eq!(cands[0]["status"], "failed");
    assert_eq!(cands[0]["reason"], "connection refused");
    assert_eq!(cands[1]["status"], "chosen");
    assert!(cands[1]["reason"].is_null());
}

#[test]
fn text_output_lists_candidates_with_outcomes() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    let mirror = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&origin, "app", "1");
    push_test_image(&mirror, "app", "1");
    let refused = refused_addr().to_string();
    let out = home
        .cnb(&[
            "resolve",
            &origin.image("app", "1"),
            &mirror_flag(&origin.host(), &refused),
            &mirror_flag(&origin.host(), &mirror.host()),
        ])
        .run();
    let hosts = [
        ("[ORIGIN]", origin.host()),
        ("[MIRROR]", mirror.host()),
        ("[REFUSED]", refused),
    ];
    // Latencies (and so the padding before them) vary: `[..]`.
    home.assert_text_with(
        &out.stdout,
        str![[r#"
[ORIGIN]/app:1 -> [MIRROR]/app:1
  1. mirror    [REFUSED]/app:1 [..] ms  failed: connection refused
  2. mirror    [MIRROR]/app:1 [..] ms  chosen
  3. original  [ORIGIN]/app:1 [..] ms  not needed

"#]],
        &hosts,
    );
    home.assert_text_with(
        &out.stderr,
        str![[r#"
warning: mirror [REFUSED] failed for [ORIGIN]/app:1: connection refused
Using mirror [MIRROR] for [ORIGIN]/app:1

"#]],
        &hosts,
    );
}

#[test]
fn several_images_are_probed_concurrently() {
    let home = TestHome::new();
    let a = TestRegistry::start(RegistryOptions::plain());
    let b = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&a, "one", "1");
    push_test_image(&b, "two", "2");
    let hole = Blackhole::start();
    let timeout = Duration::from_secs(3);
    let started = Instant::now();
    let (out, json) = resolve_json(
        &home,
        &[
            &a.image("one", "1"),
            &b.image("two", "2"),
            &mirror_flag("*", &hole.host()),
            "--registry-timeout",
            "3",
        ],
    );
    let took = started.elapsed();
    out.assert_success();
    assert_eq!(json[0]["chosen"], a.image("one", "1"));
    assert_eq!(json[1]["chosen"], b.image("two", "2"));
    // One after the other would take two timeouts.
    assert!(took < timeout + MARGIN, "took {took:?}");
}

#[test]
fn a_multi_platform_index_resolves_for_linux_and_the_architecture() {
    let home = TestHome::new();
    let reg = TestRegistry::start(RegistryOptions::plain());
    let index = push_test_index(&reg, "multi", "1");
    // No daemon at this address: the host's architecture is used.
    let (out, json) = resolve_json(
        &home,
        &[
            &reg.image("multi", "1"),
            "--docker-host",
            "unix:///nonexistent/docker.sock",
        ],
    );
    out.assert_success();
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let expected = index
        .digest_for(&format!("linux/{arch}"))
        .expect("the test index has this machine's architecture");
    assert_eq!(json[0]["digest"], expected);
    assert_ne!(json[0]["digest"], index.digest);

    // With the daemon reachable (when it is), its architecture is asked for.
    let (out, json) = resolve_json(&home, &["-v", &reg.image("multi", "1")]);
    out.assert_success();
    assert!(json[0]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(
        out.stderr
            .contains("an image index; choosing the manifest for linux/"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_input_exits_2() {
    let home = TestHome::new();
    let transcript = home.transcript(&[
        "resolve Not//Valid",
        "resolve app --registry-mirror no-equals-sign",
        "resolve app --registry-mirror docker.io=https://",
        "resolve app --insecure-registry 10.0.0.1/8",
        "resolve app --registry-timeout 0",
        "resolve app --registry-timeout soon",
        "resolve app --output yaml",
    ]);
    home.assert_text(&transcript, str![[r#"
$ cnb resolve Not//Valid
error: invalid image reference 'Not//Valid': repository names must be lower-case ('Not')
[exit 2]
$ cnb resolve app --registry-mirror no-equals-sign
error: registry mirror 'no-equals-sign' is not of the form REGISTRY=MIRROR (e.g. docker.io=mirror.example); expected [http[s]://]host[:port][/path]
[exit 2]
$ cnb resolve app --registry-mirror 'docker.io=https://'
error: registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]
[exit 2]
$ cnb resolve app --insecure-registry 10.0.0.1/8
error: invalid insecure registry '10.0.0.1/8': host bits are set (did you mean 10.0.0.0/8?); expected host, host:port or a CIDR such as 10.20.0.0/16
[exit 2]
$ cnb resolve app --registry-timeout 0
error: invalid --registry-timeout '0'; expected a number of seconds greater than 0 and at most 3600
[exit 2]
$ cnb resolve app --registry-timeout soon
error: invalid value 'soon' for '--registry-timeout <SECS>': invalid float literal

For more information, try '--help'.
[exit 2]
$ cnb resolve app --output yaml
error: invalid value 'yaml' for '--output <OUTPUT>'
  [possible values: text, json]

For more information, try '--help'.
[exit 2]

"#]]);
}

#[test]
fn ipv6_loopback_registries_work_as_origin_and_mirror() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain().ipv6());
    let mirror = TestRegistry::start(RegistryOptions::plain().ipv6());
    push_test_image(&origin, "app", "6");
    push_test_image(&mirror, "app", "6");
    assert!(origin.host().starts_with("[::1]:"), "{}", origin.host());
    let (out, json) = resolve_json(
        &home,
        &[
            &origin.image("app", "6"),
            &mirror_flag(&origin.host(), &mirror.host()),
        ],
    );
    out.assert_success();
    assert_eq!(json[0]["chosen"], mirror.image("app", "6"));
    let (out, json) = resolve_json(&home, &[&origin.image("app", "6")]);
    out.assert_success();
    assert_eq!(json[0]["chosen"], origin.image("app", "6"));
}

/// A Docker config that cannot be read is a failure with its reason, printed once
/// (not once more for each layer of the error).
#[test]
fn an_unreadable_docker_config_is_reported_once() {
    let home = TestHome::new();
    std::fs::create_dir_all(home.docker_config_dir().join("config.json")).unwrap();
    let image = format!("{}/app:1", refused_addr());
    let out = run_cnb(&home, ["resolve", &image, "--registry-timeout", "1"]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    home.assert_text_with(&out.stderr, str![[r#"
error: could not fetch [IMAGE] from any location: [IMAGE]: could not read the Docker config [HOME]/.docker/config.json: Is a directory (os error 21)

"#]], &[("[IMAGE]", image)]);
}

/// A credential helper that never answers (one waiting for a prompt or a locked keyring),
/// in a directory to put on `PATH`.
fn hung_helper(home: &TestHome) -> std::path::PathBuf {
    let dir = home.mkdir("helpers");
    let helper = dir.join("docker-credential-cnbtest-hang");
    std::fs::write(&helper, "#!/bin/sh\nexec sleep 3600\n").unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn a_hung_credential_helper_is_bounded_named_and_does_not_stop_other_candidates() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    let mirror = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&origin, "app/run", "1");
    push_test_image(&mirror, "app/run", "1");
    let helpers = hung_helper(&home);
    home.write_docker_config(&json!({"credHelpers": {origin.host(): "cnbtest-hang"}}));
    let path = format!(
        "{}:{}",
        helpers.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let resolve = |extra: &[&str]| {
        let mut cmd = cnb_cmd(&home);
        cmd.env("PATH", &path)
            .args(["resolve", &origin.image("app/run", "1")])
            .args(extra);
        run_with_timeout(&mut cmd, Duration::from_secs(60)).unwrap()
    };

    // With a mirror (which has no helper), the mirror is probed meanwhile and chosen.
    let out = resolve(&[&mirror_flag(&origin.host(), &mirror.host())]);
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&mirror.host()), "{}", out.stdout);

    // Alone, the probe gives up at its timeout and names the helper, not the registry.
    let out = resolve(&[]);
    assert!(!out.success(), "{}", out.stdout);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("the credential helper docker-credential-cnbtest-hang did not answer within"),
        "{text}"
    );
    assert!(!text.contains("timed out"), "{text}");
}

#[test]
fn control_characters_from_outside_are_shown_escaped() {
    let home = TestHome::new();
    // An image name with an escape sequence and a carriage return that would forge a line.
    let out = run_cnb(&home, ["resolve", "bad\u{1b}[2J\rerror: forged"]);
    assert_eq!(out.code(), 2, "{}", out.stderr);
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
    assert!(!out.stderr.contains('\r'), "{:?}", out.stderr);
    assert!(
        out.stderr.contains("\\u{1b}[2J\\rerror: forged"),
        "{:?}",
        out.stderr
    );
}

#[test]
fn an_endless_docker_config_is_refused_not_read_forever() {
    let home = TestHome::new();
    let registry = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&registry, "app/run", "1");
    std::fs::create_dir_all(home.docker_config_dir()).unwrap();
    std::os::unix::fs::symlink("/dev/zero", home.docker_config_dir().join("config.json")).unwrap();
    let out = run_cnb(&home, ["resolve", &registry.image("app/run", "1")]);
    assert!(!out.success(), "{}", out.stdout);
    assert!(
        out.stderr.contains("config.json") && out.stderr.contains("larger than 4 MiB"),
        "{}",
        out.stderr
    );
}

/// Runs `cmd` to the end (killed at `limit`) and measures its peak resident memory (KiB),
/// from the kernel's accounting of that one child (`wait4`).
fn run_measuring_memory(cmd: &mut std::process::Command, limit: Duration) -> (Output, u64) {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Reaped by `wait4` below (which gives its resource usage), not by `Child::wait`.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd.spawn().expect("spawn cnb");
    let pid = child.id() as libc::pid_t;
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value to be written into.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std's `Child` is never waited).
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(done >= 0, "wait4: {}", std::io::Error::last_os_error());
        if done == pid {
            break;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    };
    (output, usage.ru_maxrss as u64)
}

/// The reason shown for the candidate at `location`.
fn reason_of<'a>(candidates: &'a [(String, String, Option<String>)], location: &str) -> &'a str {
    let (_, status, reason) = candidates
        .iter()
        .find(|(l, _, _)| l == location)
        .unwrap_or_else(|| panic!("{location} is not a candidate: {candidates:?}"));
    assert_eq!(status, "failed", "{location}: {candidates:?}");
    reason.as_deref().unwrap_or("")
}

const TOO_LARGE: &str = "the manifest is larger than 4 MiB (Docker's limit)";

#[test]
fn a_mirror_whose_manifest_is_over_4_mib_is_not_chosen() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&origin, "app/run", "1");
    // Announced (Content-Length) as one byte over the limit: refused before reading.
    let announced = ManifestServer::start(ManifestAnswer::filler(
        DOCKER_MANIFEST,
        ManifestBody::Sized((4 << 20) + 1),
    ));
    let image = origin.image("app/run", "1");
    let (out, json) = resolve_json(
        &home,
        &[&image, &mirror_flag(&origin.host(), &announced.host())],
    );
    out.assert_success();
    assert_eq!(json[0]["chosen"], image);
    let c = candidates(&json[0]);
    assert_eq!(
        reason_of(&c, &format!("{}/app/run:1", announced.host())),
        TOO_LARGE
    );
    assert_eq!(announced.manifest_requests(), 1);

    // The reason in the text output and the warning too (`-v`).
    let out = run_cnb(
        &home,
        [
            "-v",
            "resolve",
            &image,
            &mirror_flag(&origin.host(), &announced.host()),
        ],
    );
    out.assert_success();
    assert!(
        out.stdout.contains(&format!("failed: {TOO_LARGE}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!(
            "warning: mirror {} failed for {image}: {TOO_LARGE}",
            announced.host()
        )),
        "{}",
        out.stderr
    );

    // Exactly 4 MiB is within the limit: it is read, then refused for what it is (not
    // a manifest), not for its size.
    let at_limit = ManifestServer::start(ManifestAnswer::filler(
        DOCKER_MANIFEST,
        ManifestBody::Sized(4 << 20),
    ));
    let (out, json) = resolve_json(
        &home,
        &[&image, &mirror_flag(&origin.host(), &at_limit.host())],
    );
    out.assert_success();
    let c = candidates(&json[0]);
    let reason = reason_of(&c, &format!("{}/app/run:1", at_limit.host()));
    assert!(reason.contains("not valid JSON"), "{reason}");
}

#[test]
fn an_endless_manifest_is_cut_at_4_mib_and_memory_stays_bounded() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&origin, "app/run", "1");
    // No Content-Length and no end: only the cap stops the read.
    let endless =
        ManifestServer::start(ManifestAnswer::filler(OCI_MANIFEST, ManifestBody::Endless));
    let image = origin.image("app/run", "1");
    let started = Instant::now();
    let mut cmd = cnb_cmd(&home);
    cmd.args([
        "resolve",
        "--output",
        "json",
        &image,
        &mirror_flag(&origin.host(), &endless.host()),
        // Long enough that without the cap the read would go on for gigabytes.
        "--registry-timeout",
        "20",
    ]);
    let (out, max_rss_kib) = run_measuring_memory(&mut cmd, Duration::from_secs(60));
    let took = started.elapsed();
    out.assert_success();
    let json: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json[0]["chosen"], image);
    let c = candidates(&json[0]);
    assert_eq!(
        reason_of(&c, &format!("{}/app/run:1", endless.host())),
        TOO_LARGE
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // cnb itself is a few tens of MiB; the body it kept is at most 4 MiB and a byte.
    assert!(
        max_rss_kib < 128 * 1024,
        "cnb peaked at {} MiB",
        max_rss_kib / 1024
    );
    // What was sent is what cnb read plus what the sockets buffered before it closed
    // (the server counts a chunk once it is written: give it a moment).
    std::thread::sleep(Duration::from_millis(200));
    let sent = endless.bytes_sent();
    eprintln!(
        "cnb peaked at {} MiB; the mirror sent {} MiB in {took:?}",
        max_rss_kib / 1024,
        sent >> 20
    );
    assert!(sent >= 4 << 20, "sent {sent}");
    assert!(sent < 64 << 20, "sent {sent} bytes: the read did not stop");
}

#[test]
fn a_mirror_answering_with_a_type_the_daemon_refuses_is_not_chosen() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    let digest = push_test_image(&origin, "app/run", "1");
    let genuine = fetch_manifest(&origin, "app/run", "1").expect("the origin's manifest");
    assert_eq!(genuine.header("content-type"), Some(DOCKER_MANIFEST));
    let body = genuine.body.clone();
    let other_digest = sha256_digest(b"another manifest");

    // Each of these serves the genuine manifest bytes; only the headers are wrong.
    let bad: Vec<(ManifestServer, &str)> = vec![
        (
            ManifestServer::start(ManifestAnswer::bytes(Some("text/plain"), &body)),
            "the registry sent the manifest as text/plain, and the Docker daemon only pulls an OCI or Docker image manifest or index",
        ),
        (
            ManifestServer::start(ManifestAnswer::bytes(
                Some("application/octet-stream"),
                &body,
            )),
            "as application/octet-stream,",
        ),
        // What Docker reads as a schema 1 manifest, which this body is not.
        (
            ManifestServer::start(ManifestAnswer::bytes(Some("application/json"), &body)),
            "as application/json,",
        ),
        (
            ManifestServer::start(ManifestAnswer::bytes(None, &body)),
            "without a Content-Type",
        ),
        // The header and the body's own mediaType disagree.
        (
            ManifestServer::start(ManifestAnswer::bytes(Some(OCI_MANIFEST), &body)),
            "the manifest says it is application/vnd.docker.distribution.manifest.v2+json",
        ),
        (
            ManifestServer::start(
                ManifestAnswer::bytes(Some(DOCKER_MANIFEST), &body).digest_header(&other_digest),
            ),
            "the Docker-Content-Digest header says",
        ),
    ];
    let image = origin.image("app/run", "1");
    let mut args = vec![image.clone()];
    args.extend(
        bad.iter()
            .map(|(m, _)| mirror_flag(&origin.host(), &m.host())),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, json) = resolve_json(&home, &args);
    out.assert_success();
    assert_eq!(json[0]["chosen"], image, "{}", out.stderr);
    assert_eq!(json[0]["digest"], digest);
    let c = candidates(&json[0]);
    for (mirror, expected) in &bad {
        let reason = reason_of(&c, &format!("{}/app/run:1", mirror.host()));
        assert!(reason.contains(expected), "{}: {reason}", mirror.host());
        assert!(
            out.stderr
                .contains(&format!("warning: mirror {} failed", mirror.host())),
            "{}",
            out.stderr
        );
    }

    // A pinned reference must match too, whatever the mirror's header says.
    let pinned = format!("{}/app/run@{digest}", origin.host());
    let lying = ManifestServer::start(
        ManifestAnswer::bytes(Some(DOCKER_MANIFEST), br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#)
            .digest_header(&digest),
    );
    let (out, json) = resolve_json(
        &home,
        &[&pinned, &mirror_flag(&origin.host(), &lying.host())],
    );
    out.assert_success();
    assert_eq!(json[0]["chosen"], pinned);
    let c = candidates(&json[0]);
    let reason = reason_of(&c, &format!("{}/app/run@{digest}", lying.host()));
    assert!(reason.contains("pinned to"), "{reason}");
}

#[test]
fn a_mirror_that_answers_as_docker_would_pull_still_wins() {
    let home = TestHome::new();
    let origin = TestRegistry::start(RegistryOptions::plain());
    let digest = push_test_image(&origin, "app/run", "1");
    let body = fetch_manifest(&origin, "app/run", "1")
        .expect("the origin's manifest")
        .body;
    // Parameters and case in the Content-Type do not matter (as for Docker), and the
    // digest header matches.
    let mirror = ManifestServer::start(
        ManifestAnswer::bytes(
            Some("Application/VND.Docker.Distribution.Manifest.v2+JSON; charset=utf-8"),
            &body,
        )
        .digest_header(&digest),
    );
    let image = origin.image("app/run", "1");
    let (out, json) = resolve_json(
        &home,
        &[&image, &mirror_flag(&origin.host(), &mirror.host())],
    );
    out.assert_success();
    assert_eq!(json[0]["chosen"], format!("{}/app/run:1", mirror.host()));
    assert_eq!(json[0]["digest"], digest);
    assert_eq!(mirror.manifest_requests(), 1);

    // And an index from a real registry behind a mirror is still resolved.
    let index = push_test_index(&origin, "multi", "1");
    let real_mirror = TestRegistry::start(RegistryOptions::plain());
    push_test_index(&real_mirror, "multi", "1");
    let (out, json) = resolve_json(
        &home,
        &[
            &origin.image("multi", "1"),
            &mirror_flag(&origin.host(), &real_mirror.host()),
            "--docker-host",
            "unix:///nonexistent/docker.sock",
        ],
    );
    out.assert_success();
    assert_eq!(json[0]["chosen"], real_mirror.image("multi", "1"));
    assert_ne!(json[0]["digest"], index.digest);
}
