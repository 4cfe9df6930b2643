use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::resolve::{Step, next_step};
use super::*;
use crate::reference::{Mirror, MirrorKey};

#[test]
fn candidates_are_mirrors_in_order_then_the_original() {
    let settings = RegistrySettings {
        mirrors: vec![(
            MirrorKey::parse("quay.io").unwrap(),
            vec![
                Mirror::parse("q1.corp.example").unwrap(),
                Mirror::parse("http://q2.corp.example:5000/quay").unwrap(),
            ],
        )],
        insecure: Vec::new(),
        timeout: Duration::from_secs(3),
    };
    let image = ImageRef::parse("quay.io/org/app:1").unwrap();
    let specs = candidate_specs(&settings, &image);
    let locations: Vec<String> = specs.iter().map(|(l, _)| l.to_string()).collect();
    assert_eq!(
        locations,
        [
            "q1.corp.example/org/app:1",
            "q2.corp.example:5000/quay/org/app:1",
            "quay.io/org/app:1"
        ]
    );
    assert!(specs[2].1.is_none());
    let hub = ImageRef::parse("busybox").unwrap();
    assert_eq!(candidate_specs(&settings, &hub).len(), 1);
}

#[test]
fn the_first_candidate_in_order_wins() {
    // A later success waits for an earlier pending candidate.
    assert_eq!(next_step(&[None, Some(true)]), Step::Wait);
    assert_eq!(next_step(&[Some(false), Some(true), None]), Step::Chosen(1));
    assert_eq!(next_step(&[Some(true), None, None]), Step::Chosen(0));
    assert_eq!(next_step(&[Some(false), Some(false)]), Step::Exhausted);
    assert_eq!(next_step(&[Some(false), None]), Step::Wait);
}

#[test]
fn failures_read_as_reasons() {
    let reasons = [
        ProbeFailure::Refused.to_string(),
        ProbeFailure::TimedOut { millis: 3000 }.to_string(),
        ProbeFailure::NotFound.to_string(),
        ProbeFailure::Unauthorized {
            detail: "401 Unauthorized".into(),
        }
        .to_string(),
        ProbeFailure::Tls {
            detail: "x".into(),
            insecure_hint: true,
        }
        .to_string(),
        ProbeFailure::Server { status: 503 }.to_string(),
    ];
    for (reason, word) in
        reasons
            .iter()
            .zip(["refused", "timed out", "404", "unauthorized", "TLS", "503"])
    {
        assert!(reason.contains(word), "{reason}");
    }
    let mut unique = reasons.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), reasons.len());
}

#[test]
fn tls_failures_name_the_command_that_allows_the_host() {
    let candidate = Candidate {
        location: ImageRef::parse("127.0.0.1:5443/app:1").unwrap(),
        mirror: None,
        status: CandidateStatus::Failed(ProbeFailure::Tls {
            detail: "unknown issuer".into(),
            insecure_hint: true,
        }),
        millis: Some(3),
    };
    let hint = candidate.hint().unwrap();
    assert!(
        hint.contains("cnb config insecure-registries add 127.0.0.1:5443"),
        "{hint}"
    );
    let resolution = Resolution {
        image: candidate.location.clone(),
        candidates: vec![candidate],
        digest: None,
    };
    let err = resolution.error().unwrap().to_string();
    assert!(
        err.contains("127.0.0.1:5443/app:1: TLS failure: unknown issuer"),
        "{err}"
    );
    assert!(
        err.contains("insecure-registries add 127.0.0.1:5443"),
        "{err}"
    );
}

/// A loopback HTTP server answering 404 to everything; counts requests.
async fn not_found_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                if buf[..n].starts_with(b"GET /v2/app/") {
                    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                let _ = s
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    (port, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_probe() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (port, manifest_requests) = not_found_server().await;
    let settings = RegistrySettings {
        mirrors: Vec::new(),
        insecure: Vec::new(),
        timeout: Duration::from_secs(5),
    };
    let resolver = Resolver::new(settings, Platform::linux("amd64")).with_ui(Ui::plain());
    let image = ImageRef::parse(&format!("127.0.0.1:{port}/app:1")).unwrap();
    let (a, b) = tokio::join!(resolver.resolve(&image), resolver.resolve(&image));
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.candidates[0].failure(), Some(&ProbeFailure::NotFound));
    let after_first = manifest_requests.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(after_first, 1, "one manifest request for both callers");
    let c = resolver.resolve(&image).await;
    assert!(Arc::ptr_eq(&a, &c));
    assert_eq!(
        manifest_requests.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_mirror_costs_the_timeout_once_per_process() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A listener that accepts connections and never answers.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = hole.accept().await {
            held.push(s);
        }
    });
    let (port, _) = not_found_server().await;
    let timeout = Duration::from_millis(400);
    let settings = RegistrySettings {
        mirrors: vec![(
            MirrorKey::Any,
            vec![Mirror::parse(&format!("127.0.0.1:{hole_port}")).unwrap()],
        )],
        insecure: Vec::new(),
        timeout,
    };
    let resolver = Resolver::new(settings, Platform::linux("amd64")).with_ui(Ui::plain());
    let first = ImageRef::parse(&format!("127.0.0.1:{port}/app:1")).unwrap();
    let second = ImageRef::parse(&format!("127.0.0.1:{port}/app:2")).unwrap();

    let started = Instant::now();
    let a = resolver.resolve(&first).await;
    assert!(
        started.elapsed() >= timeout,
        "the first image waits for the mirror"
    );
    assert_eq!(
        a.candidates[0].failure(),
        Some(&ProbeFailure::TimedOut { millis: 400 })
    );

    let started = Instant::now();
    let b = resolver.resolve(&second).await;
    assert!(
        started.elapsed() < timeout,
        "the second image must not wait for the black-holed mirror again"
    );
    assert_eq!(
        b.candidates[0].failure(),
        Some(&ProbeFailure::TimedOut { millis: 400 })
    );
    assert_eq!(b.candidates[1].failure(), Some(&ProbeFailure::NotFound));
}
