use std::net::IpAddr;

use super::*;

const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn reference_err(input: &str) -> String {
    ImageRef::parse(input).unwrap_err().to_string()
}
fn registry_err(input: &str) -> String {
    Registry::parse(input).unwrap_err().to_string()
}
fn mirror_err(input: &str) -> String {
    Mirror::parse(input).unwrap_err().to_string()
}
fn insecure_err(input: &str) -> String {
    InsecureEntry::parse(input).unwrap_err().to_string()
}

#[test]
fn reference_normalisation_table() {
    let d = D;
    // input, key(), Display
    #[rustfmt::skip]
    let table: Vec<(String, String, String)> = [
        ("busybox", "index.docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "index.docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36"),
        ("paketobuildpacks/builder-jammy-base", "index.docker.io/paketobuildpacks/builder-jammy-base:latest", "docker.io/paketobuildpacks/builder-jammy-base:latest"),
        ("docker.io/busybox", "index.docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
        ("Index.Docker.IO/library/busybox", "index.docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
        ("registry-1.docker.io/org/app:v1", "index.docker.io/org/app:v1", "docker.io/org/app:v1"),
        ("docker.io:443/busybox", "docker.io:443/busybox:latest", "docker.io:443/busybox:latest"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("LocalHost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5000/a/b/c:Tag_1.0-x", "localhost:5000/a/b/c:Tag_1.0-x", "localhost:5000/a/b/c:Tag_1.0-x"),
        ("Reg.Example:5000/app", "reg.example:5000/app:latest", "reg.example:5000/app:latest"),
        ("127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1"),
        ("[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"),
        ("[0:0::1]/app", "[::1]/app:latest", "[::1]/app:latest"),
        ("app@{d}", "index.docker.io/library/app@{d}", "docker.io/library/app@{d}"),
        ("quay.io/org/app:1@{d}", "quay.io/org/app:1@{d}", "quay.io/org/app:1@{d}"),
        ("org/a.b_c__d--e/f-g", "index.docker.io/org/a.b_c__d--e/f-g:latest", "docker.io/org/a.b_c__d--e/f-g:latest"),
        ("reg.example:5000", "index.docker.io/library/reg.example:5000", "docker.io/library/reg.example:5000"),
    ]
    .iter()
    .map(|(a, b, c)| (a.replace("{d}", d), b.replace("{d}", d), c.replace("{d}", d)))
    .collect();
    for (input, key, shown) in table {
        let r = ImageRef::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.key(), key, "key of {input}");
        assert_eq!(r.to_string(), shown, "display of {input}");
        assert_eq!(
            ImageRef::parse(&r.key()).unwrap(),
            r,
            "key round trip of {input}"
        );
        assert_eq!(
            ImageRef::parse(&r.to_string()).unwrap(),
            r,
            "display round trip of {input}"
        );
    }
}

#[test]
fn reference_parts() {
    let r = ImageRef::parse("busybox").unwrap();
    assert!(r.registry().is_docker_hub());
    assert_eq!(r.repository(), "library/busybox");
    assert_eq!(r.tag(), Some("latest"));
    assert_eq!(r.digest(), None);
    assert_eq!(r.repository_key(), "index.docker.io/library/busybox");

    let r = ImageRef::parse(&format!("reg:5000/app@{D}")).unwrap();
    assert_eq!(r.registry().key(), "reg:5000");
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest(), Some(D));
    assert_eq!(r.with_tag("v2").key(), "reg:5000/app:v2");
}

#[test]
fn reference_relocate_to_mirror() {
    let r = ImageRef::parse("busybox:1").unwrap();
    let m = Mirror::parse("http://Mirror.Example:5000/hub/").unwrap();
    assert_eq!(
        m.location_for(&r).key(),
        "mirror.example:5000/hub/library/busybox:1"
    );
    let m = Mirror::parse("mirror.example").unwrap();
    assert_eq!(m.location_for(&r).key(), "mirror.example/library/busybox:1");
}

#[test]
fn reference_rejects_upper_case_repository() {
    let e = reference_err("MyOrg/app");
    assert!(e.contains("repository names must be lower-case"), "{e}");
    let e = reference_err("reg.example/App");
    assert!(e.contains("repository names must be lower-case"), "{e}");
}

#[test]
fn reference_rejects_bad_tags_and_digests() {
    assert!(reference_err("app:").contains("tag after ':' is empty"));
    assert!(reference_err("app:.x").contains("tag '.x' is invalid"));
    assert!(reference_err(&format!("app:{}", "a".repeat(129))).contains("longer than 128"));
    assert!(reference_err("app@sha256:abc").contains("64 lower-case hex digits"));
    assert!(
        reference_err(&format!("app@{}", D.to_uppercase().replace("SHA", "sha")))
            .contains("lower-case hex")
    );
    assert!(
        reference_err("app@md5:0123456789abcdef0123456789abcdef")
            .contains("'md5' is not supported")
    );
    assert!(reference_err("app@nocolon").contains("algorithm:hex"));
}

#[test]
fn reference_rejects_bad_paths() {
    assert!(reference_err("").contains("empty"));
    assert!(reference_err("a//b").contains("empty component"));
    assert!(reference_err("reg.example/").contains("empty component"));
    assert!(reference_err("a..b").contains("component 'a..b' is invalid"));
    assert!(reference_err("a___b").contains("is invalid"));
    assert!(reference_err("-a").contains("is invalid"));
    assert!(reference_err("a-_b").contains("is invalid"));
    assert!(reference_err(":tag").contains("repository name is empty"));
    assert!(reference_err(&"a".repeat(64).replace('a', "f")).contains("image ID"));
    let long = format!("{}/{}", "a".repeat(200), "b".repeat(60));
    assert!(reference_err(&long).contains("the limit is 255"));
}

#[test]
fn reference_rejects_bad_registry_and_urls() {
    let e = reference_err("reg_x.example/app");
    assert!(
        e.contains("invalid registry 'reg_x.example'") && e.contains("'_'"),
        "{e}"
    );
    assert!(reference_err("reg.example:70000/app").contains("port 70000 is out of range 1-65535"));
    let e = reference_err("https://user:secret@reg.example/app");
    assert!(e.contains("not a URL") && !e.contains("secret"), "{e}");
    let e = reference_err("user:secret@reg.example/app");
    assert!(!e.contains("secret"), "{e}");
    let e = reference_err("user:secret@reg.example");
    assert!(!e.contains("secret"), "{e}");
}

#[test]
fn registry_normalisation_table() {
    let table = [
        ("docker.io", "index.docker.io", "docker.io"),
        ("Docker.IO", "index.docker.io", "docker.io"),
        ("index.docker.io", "index.docker.io", "docker.io"),
        ("REGISTRY-1.docker.io", "index.docker.io", "docker.io"),
        ("docker.io:443", "docker.io:443", "docker.io:443"),
        ("Reg.Example:5000", "reg.example:5000", "reg.example:5000"),
        ("reg:005000", "reg:5000", "reg:5000"),
        ("localhost", "localhost", "localhost"),
        ("127.0.0.1:5000", "127.0.0.1:5000", "127.0.0.1:5000"),
        ("[::1]:5000", "[::1]:5000", "[::1]:5000"),
        ("[FD00:0::1]", "[fd00::1]", "[fd00::1]"),
        ("a-b.c9", "a-b.c9", "a-b.c9"),
    ];
    for (input, key, shown) in table {
        let r = Registry::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.key(), key, "key of {input}");
        assert_eq!(r.to_string(), shown, "display of {input}");
        assert_eq!(Registry::parse(&r.key()).unwrap(), r);
        assert_eq!(Registry::parse(&r.to_string()).unwrap(), r);
    }
    assert!(Registry::parse("docker.io").unwrap().is_docker_hub());
    assert!(!Registry::parse("docker.io:443").unwrap().is_docker_hub());
    assert_ne!(Registry::parse("reg:5000"), Registry::parse("reg:5001"));
    assert_ne!(Registry::parse("reg"), Registry::parse("reg:443"));
}

#[test]
fn registry_ip_and_loopback() {
    let r = Registry::parse("[::1]:5000").unwrap();
    assert_eq!(r.host(), "::1");
    assert_eq!(r.port(), Some(5000));
    assert_eq!(r.ip(), Some("::1".parse().unwrap()));
    assert!(r.is_loopback());
    assert!(Registry::parse("127.3.4.5").unwrap().is_loopback());
    assert!(Registry::parse("LocalHost:5000").unwrap().is_loopback());
    assert!(!Registry::parse("10.0.0.1").unwrap().is_loopback());
    assert!(!Registry::parse("reg.example").unwrap().is_loopback());
    assert_eq!(Registry::parse("reg.example").unwrap().ip(), None);
}

#[test]
fn registry_rejects_bad_ports() {
    assert!(registry_err("reg:70000").contains("port 70000 is out of range 1-65535"));
    assert!(registry_err("reg:0").contains("port 0 is out of range 1-65535"));
    assert!(registry_err("reg:99999999999999999999999").contains("out of range"));
    assert!(registry_err("reg:").contains("port is empty"));
    assert!(registry_err("reg:+80").contains("port '+80' is not a number"));
    assert!(registry_err("reg:8a").contains("not a number"));
}

#[test]
fn registry_rejects_bad_hosts() {
    assert_eq!(
        registry_err("reg_x.example"),
        "invalid registry 'reg_x.example': host name 'reg_x.example' contains '_', which host names cannot contain; expected host[:port]"
    );
    assert!(registry_err("").contains("empty"));
    assert!(registry_err(":5000").contains("has no host"));
    assert!(registry_err("a..b").contains("empty label"));
    assert!(registry_err("-a.b").contains("starts or ends with '-'"));
    assert!(registry_err("a b").contains("' '"));
    assert!(registry_err(&format!("{}.io", "a".repeat(64))).contains("longer than 63"));
    assert!(registry_err("256.1.1.1").contains("not a valid IPv4 address"));
    assert!(registry_err("[::g]").contains("not a valid IPv6 address"));
    assert!(registry_err("[::1").contains("no matching ']'"));
    assert!(registry_err("[::1]x").contains("after ']'"));
}

#[test]
fn registry_rejects_bare_ipv6() {
    let e = registry_err("::1");
    assert!(e.contains("must be written in brackets, e.g. [::1]"), "{e}");
    let e = registry_err("reg:5000:1");
    assert!(e.contains("more than one ':'"), "{e}");
}

#[test]
fn registry_rejects_urls_paths_and_user_info() {
    assert!(registry_err("https://reg.example").contains("not a URL; drop 'https://'"));
    assert!(registry_err("reg.example/path").contains("has no path"));
    let e = registry_err("user:hunter2@reg.example");
    assert!(
        e.contains("user info is not allowed") && !e.contains("hunter2"),
        "{e}"
    );
    assert!(e.contains("user:<redacted>@reg.example"), "{e}");
}

#[test]
fn mirror_key_parse() {
    assert_eq!(MirrorKey::parse("*").unwrap(), MirrorKey::Any);
    assert_eq!(MirrorKey::Any.key(), "*");
    let k = MirrorKey::parse("docker.io").unwrap();
    assert_eq!(k.key(), "index.docker.io");
    assert_eq!(k.to_string(), "docker.io");
    assert!(MirrorKey::parse("**").is_err());
}

#[test]
fn mirror_normalisation_table() {
    // input, Display, url()
    let table = [
        ("mirror.example", "mirror.example", "https://mirror.example"),
        (
            "Mirror.Example:5000",
            "mirror.example:5000",
            "https://mirror.example:5000",
        ),
        (
            "HTTP://m2:5000/quay",
            "http://m2:5000/quay",
            "http://m2:5000/quay",
        ),
        (
            "https://q1.example/a/b/",
            "https://q1.example/a/b",
            "https://q1.example/a/b",
        ),
        ("q1.example/", "q1.example", "https://q1.example"),
        (
            "http://[::1]:5000",
            "http://[::1]:5000",
            "http://[::1]:5000",
        ),
        ("docker.io", "docker.io", "https://docker.io"),
        (
            "registry-1.docker.io/x",
            "registry-1.docker.io/x",
            "https://registry-1.docker.io/x",
        ),
    ];
    for (input, shown, url) in table {
        let m = Mirror::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(m.to_string(), shown, "display of {input}");
        assert_eq!(m.url(), url, "url of {input}");
        assert_eq!(Mirror::parse(&m.to_string()).unwrap(), m);
    }
    let m = Mirror::parse("http://m:5000/p").unwrap();
    assert_eq!(m.scheme(), Scheme::Http);
    assert_eq!(m.prefix(), Some("p"));
    assert_eq!(m.registry().key(), "m:5000");
    assert_eq!(Mirror::parse("m").unwrap().scheme(), Scheme::Https);
}

#[test]
fn mirror_rejects_no_host() {
    assert_eq!(
        mirror_err("https://"),
        "registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]"
    );
    assert!(mirror_err("http://:5000").contains("has no host"));
    assert!(mirror_err("/path").contains("has no host"));
    assert!(mirror_err("").contains("is empty"));
}

#[test]
fn mirror_rejects_other_schemes() {
    assert!(mirror_err("ftp://m.example").contains("unsupported scheme 'ftp://'"));
    assert!(mirror_err("ht!tp://m.example").contains("unsupported scheme 'ht!tp://'"));
}

/// Found by fuzzing (mirror target): a value that is not a valid URL scheme before
/// `://` was parsed as a host while redaction treated it as a scheme, so the two
/// disagreed about where the user info was.
#[test]
fn fuzz_mirror_scheme_and_redaction_agree() {
    let e = mirror_err("q:1]uoq.extp://[::1]uo@ttps<");
    assert!(e.contains("unsupported scheme"), "{e}");
    assert!(e.contains("'q:1]uoq.extp://[:<redacted>@ttps<'"), "{e}");
    let e = mirror_err("ht!tp://user:s3cret@m.example");
    assert!(!e.contains("s3cret"), "{e}");
}

#[test]
fn mirror_rejects_user_info_without_echoing_the_password() {
    let e = mirror_err("https://user:s3cret@m.example/x");
    assert!(e.contains("user info, which is not allowed"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
    assert!(e.contains("'https://user:<redacted>@m.example/x'"), "{e}");
    let e = mirror_err("user:p@ss@m.example");
    assert!(!e.contains("p@ss") && !e.contains("ss@"), "{e}");
}

#[test]
fn mirror_rejects_query_and_fragment() {
    assert!(mirror_err("m.example/x?a=b").contains("query string"));
    assert!(mirror_err("m.example?a").contains("query string"));
    assert!(mirror_err("m.example#top").contains("fragment"));
}

#[test]
fn mirror_rejects_bad_paths() {
    assert!(mirror_err("m.example//x").contains("empty path segment"));
    assert!(mirror_err("m.example/x//").contains("empty path segment"));
    assert!(mirror_err("m.example//").contains("empty path segment"));
    assert!(mirror_err("m.example/Quay").contains("upper-case path segment 'Quay'"));
    assert!(mirror_err("m.example/a..b").contains("invalid path segment 'a..b'"));
}

#[test]
fn mirror_rejects_bad_hosts_and_ports() {
    assert!(
        mirror_err("m.example:70000").contains("is invalid: port 70000 is out of range 1-65535")
    );
    assert!(mirror_err("http://::1").contains("brackets"));
    assert!(mirror_err("m_x.example").contains("'_'"));
}

#[test]
fn mirror_same_as_registry() {
    let hub = Registry::docker_hub();
    assert!(Mirror::parse("docker.io").unwrap().is_same_as(&hub));
    assert!(
        Mirror::parse("https://registry-1.docker.io/")
            .unwrap()
            .is_same_as(&hub)
    );
    assert!(!Mirror::parse("docker.io/mirror").unwrap().is_same_as(&hub));
    assert!(!Mirror::parse("docker.io:443").unwrap().is_same_as(&hub));
    let reg = Registry::parse("reg:5000").unwrap();
    assert!(Mirror::parse("http://reg:5000").unwrap().is_same_as(&reg));
}

#[test]
fn mirror_flag() {
    let (k, m) = parse_mirror_flag("docker.io=mirror.example").unwrap();
    assert_eq!(k.key(), "index.docker.io");
    assert_eq!(m.to_string(), "mirror.example");
    let (k, m) = parse_mirror_flag("*=http://m:5000").unwrap();
    assert_eq!(k, MirrorKey::Any);
    assert_eq!(m.url(), "http://m:5000");
}

#[test]
fn mirror_flag_rejections() {
    let e = parse_mirror_flag("mirror.example").unwrap_err().to_string();
    assert!(e.contains("REGISTRY=MIRROR"), "{e}");
    let e = parse_mirror_flag("docker.io=registry-1.docker.io")
        .unwrap_err()
        .to_string();
    assert!(e.contains("is the registry docker.io itself"), "{e}");
    let e = parse_mirror_flag("=m.example").unwrap_err().to_string();
    assert!(e.starts_with("invalid registry ''"), "{e}");
    let e = parse_mirror_flag("docker.io=").unwrap_err().to_string();
    assert!(e.contains("is empty"), "{e}");
    // Split on the first '=': the rest is the mirror, which cannot contain '='.
    let e = parse_mirror_flag("a.example=m.example/x=y")
        .unwrap_err()
        .to_string();
    assert!(e.contains("invalid path segment 'x=y'"), "{e}");
}

#[test]
fn insecure_normalisation_table() {
    let table = [
        ("registry.local:5000", "registry.local:5000"),
        ("Registry.Local", "registry.local"),
        ("10.20.0.0/16", "10.20.0.0/16"),
        ("fd00::/8", "fd00::/8"),
        ("FD00:0::/16", "fd00::/16"),
        ("10.0.0.1", "10.0.0.1"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("[::1]:5000", "[::1]:5000"),
        ("docker.io", "index.docker.io"),
        ("docker.io:443", "docker.io:443"),
        ("10.0.0.0/08", "10.0.0.0/8"),
    ];
    for (input, shown) in table {
        let e = InsecureEntry::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(e.to_string(), shown, "display of {input}");
        assert_eq!(InsecureEntry::parse(&e.to_string()).unwrap(), e);
    }
    assert_eq!(
        InsecureEntry::parse("reg:5000").unwrap(),
        InsecureEntry::HostPort("reg".into(), 5000)
    );
    assert_eq!(
        InsecureEntry::parse("reg").unwrap(),
        InsecureEntry::Host("reg".into())
    );
}

#[test]
fn insecure_rejects_host_bits() {
    assert_eq!(
        insecure_err("10.20.0.1/16"),
        "invalid insecure registry '10.20.0.1/16': host bits are set (did you mean 10.20.0.0/16?); expected host, host:port or a CIDR such as 10.20.0.0/16"
    );
    assert!(insecure_err("fd00::1/8").contains("did you mean fd00::/8?"));
}

#[test]
fn insecure_rejects_bad_cidrs() {
    assert!(insecure_err("10.0.0.0/33").contains("prefix length 33 is out of range 0-32"));
    assert!(insecure_err("fd00::/129").contains("out of range 0-128"));
    assert!(insecure_err("10.0.0.0/").contains("prefix length '' is not a number"));
    assert!(insecure_err("10.0.0.0/x").contains("not a number"));
    assert!(insecure_err("host.example/16").contains("is not an IP address"));
}

#[test]
fn insecure_rejects_bad_hosts() {
    assert!(insecure_err("").contains("empty"));
    assert!(insecure_err("http://reg").contains("scheme is not allowed"));
    let e = insecure_err("u:pw123@reg");
    assert!(e.contains("user info") && !e.contains("pw123"), "{e}");
    assert!(insecure_err("reg:70000").contains("port 70000 is out of range 1-65535"));
    assert!(insecure_err("reg_x").contains("'_'"));
    assert!(insecure_err("::g").contains("not a valid IPv6 address"));
    assert!(insecure_err(":5000").contains("has no host"));
}

#[test]
fn insecure_matching() {
    let reg = |s: &str| Registry::parse(s).unwrap();
    let entry = |s: &str| InsecureEntry::parse(s).unwrap();
    let none: &[IpAddr] = &[];

    assert!(entry("reg.local").matches(&reg("REG.local:5000"), none));
    assert!(entry("Reg.Local").matches(&reg("reg.local"), none));
    assert!(entry("reg.local:5000").matches(&reg("reg.local:5000"), none));
    assert!(!entry("reg.local:5000").matches(&reg("reg.local:5001"), none));
    assert!(!entry("reg.local:443").matches(&reg("reg.local"), none));
    assert!(!entry("reg.local").matches(&reg("other.local"), none));
    // Docker Hub's aliases are one host.
    assert!(entry("docker.io").matches(&reg("index.docker.io"), none));
    assert!(entry("registry-1.docker.io").matches(&reg("docker.io:443"), none));
    assert!(entry("docker.io:443").matches(&reg("index.docker.io:443"), none));
    // IP literals.
    assert!(entry("::1").matches(&reg("[::1]:5000"), none));
    assert!(entry("[::1]:5000").matches(&reg("[0::1]:5000"), none));
    // CIDRs: IP literals in range, and resolved addresses.
    assert!(entry("10.20.0.0/16").matches(&reg("10.20.3.4:5000"), none));
    assert!(!entry("10.20.0.0/16").matches(&reg("10.21.0.1"), none));
    assert!(entry("fd00::/8").matches(&reg("[fd12::1]"), none));
    assert!(!entry("10.20.0.0/16").matches(&reg("reg.local"), none));
    let resolved = ["10.20.1.1".parse().unwrap()];
    assert!(entry("10.20.0.0/16").matches(&reg("reg.local"), &resolved));
    let mapped = ["::ffff:10.20.1.1".parse().unwrap()];
    assert!(entry("10.20.0.0/16").matches(&reg("reg.local"), &mapped));
    // A host entry does not use resolved addresses.
    assert!(!entry("10.20.1.1").matches(&reg("reg.local"), &resolved));
}

// Edge cases of hosts, ports, paths and lengths: the values and the messages.

#[test]
fn registry_edge_cases() {
    let key = |s: &str| {
        Registry::parse(s)
            .map(|r| r.key())
            .map_err(|e| e.to_string())
    };
    assert_eq!(key("REG.Example:5000").unwrap(), "reg.example:5000");
    assert_eq!(key("1.2.3.4:00080").unwrap(), "1.2.3.4:80");
    assert_eq!(key("reg:65535").unwrap(), "reg:65535");
    assert_eq!(key("reg:1").unwrap(), "reg:1");
    assert_eq!(key("[::1]:10").unwrap(), "[::1]:10");
    // IPv4-looking names must be IPv4 addresses, in canonical form.
    for ip in ["1.2.3", "1.2.3.4.5", "01.2.3.4"] {
        assert_eq!(
            registry_err(ip),
            format!(
                "invalid registry '{ip}': '{ip}' is not a valid IPv4 address; expected host[:port]"
            )
        );
    }
    assert!(registry_err("a-.b").contains("label 'a-' starts or ends with '-'"));
    assert!(registry_err("a.-b").contains("label '-b' starts or ends with '-'"));
    assert!(registry_err("a.").contains("host name 'a.' has an empty label"));
    assert!(registry_err(".a").contains("host name '.a' has an empty label"));
    assert!(registry_err("héllo").contains("contains 'é'; expected letters"));
    // ':' counts: one is a port, more is IPv6 (in brackets only).
    assert!(registry_err("reg:5000:").contains("'reg:5000:' has more than one ':'"));
    assert!(registry_err("reg::5000").contains("'reg::5000' has more than one ':'"));
    assert!(registry_err("::ffff:1.2.3.4").contains("must be written in brackets"));
    assert!(registry_err("reg:٣").contains("port '٣' is not a number"));
    assert!(registry_err("[::1]:").contains("the port is empty"));
    assert!(registry_err("[::1]:0").contains("port 0 is out of range 1-65535"));
    assert!(registry_err("[::1]]").contains("unexpected ']' after ']'"));
    // User info and paths, wherever the '@' is.
    assert!(registry_err("reg@x").contains("user info is not allowed"));
    assert!(registry_err("reg/x@y").contains("a registry has no path"));
    assert!(registry_err("Reg.Example:5000/").contains("a registry has no path"));
    assert!(registry_err("http://reg").contains("not a URL; drop 'http://'"));
    // Length limits: 63 per label, 253 for the name.
    let l63 = "a".repeat(63);
    assert_eq!(key(&format!("{l63}.io")).unwrap().len(), 66);
    let name = |last: usize| format!("{l63}.{l63}.{l63}.{}", "d".repeat(last));
    assert_eq!(key(&name(61)).unwrap(), name(61));
    assert!(registry_err(&name(62)).contains("the host name is longer than 253 characters"));
    assert_eq!(key(&format!("{}:5000", name(61))).unwrap().len(), 258);
}

#[test]
fn mirror_edge_cases() {
    let shown = |s: &str| {
        let m = Mirror::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (m.to_string(), m.url())
    };
    let both = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        shown("HTTP://Mirror.Example:5000/cache/"),
        both(
            "http://mirror.example:5000/cache",
            "http://mirror.example:5000/cache"
        )
    );
    assert_eq!(shown("HTTPS://m"), both("https://m", "https://m"));
    assert_eq!(shown("[::1]/p/"), both("[::1]/p", "https://[::1]/p"));
    assert_eq!(
        shown("m.example/a__b_c"),
        both("m.example/a__b_c", "https://m.example/a__b_c")
    );
    // Almost a scheme.
    assert!(mirror_err("Http:/m").contains("is invalid: the port is empty"));
    assert!(mirror_err("http:m").contains("is invalid: port 'm' is not a number"));
    assert!(mirror_err("http:///m").contains("has no host"));
    assert!(mirror_err("//m").contains("has no host"));
    // `://` after the start is still where the scheme ends.
    assert!(mirror_err("m.example:5000://x").contains("unsupported scheme 'm.example:5000://'"));
    assert!(mirror_err("m.example/x://y").contains("unsupported scheme 'm.example/x://'"));
    assert!(mirror_err("http://m/x://y").contains("invalid path segment 'x:'"));
    // '@' in the path is a bad segment, in the authority user info.
    assert!(mirror_err("m.example/a@b").contains("invalid path segment 'a@b'"));
    assert!(mirror_err("user@m.example/a@b").contains("contains user info"));
    // Trailing '/', separators and case in the path.
    assert!(mirror_err("m.example/a/b//").contains("empty path segment"));
    assert!(mirror_err("m.example/-a").contains("invalid path segment '-a'"));
    assert!(mirror_err("m.example/a-").contains("invalid path segment 'a-'"));
    assert!(mirror_err("m.example/a___b").contains("invalid path segment 'a___b'"));
    assert!(mirror_err("m.example/a:b").contains("invalid path segment 'a:b'"));
    assert!(mirror_err("M.EXAMPLE/A").contains("upper-case path segment 'A'"));
    assert!(mirror_err("m.example/?").contains("query string"));
    assert!(mirror_err("m.example/#").contains("fragment"));
    // Host and port as for registries.
    assert!(mirror_err("1.2.3/p").contains("is invalid: '1.2.3' is not a valid IPv4 address"));
    assert!(mirror_err("m.example:").contains("is invalid: the port is empty"));
    assert!(mirror_err("m.example:0").contains("is invalid: port 0 is out of range 1-65535"));
}

#[test]
fn host_port_forms() {
    assert_eq!(Registry::parse("reg:1").unwrap().to_string(), "reg:1");
    assert_eq!(Registry::parse("reg:10").unwrap().key(), "reg:10");
    assert_eq!(Registry::parse("[::1]:65535").unwrap().key(), "[::1]:65535");
    assert_eq!(
        Registry::parse("docker.io:443").unwrap().key(),
        "docker.io:443"
    );
    // Display ignores width, as it always did.
    assert_eq!(format!("{:>8}", Registry::parse("r:5").unwrap()), "r:5");
    let long = "a".repeat(300);
    assert_eq!(
        InsecureEntry::HostPort(long.as_str().into(), 5000).to_string(),
        format!("{long}:5000")
    );
    assert_eq!(
        InsecureEntry::HostPort("::1".into(), 5).to_string(),
        "[::1]:5"
    );
    let m = Mirror::parse("http://[FD00::1]:5000/a/b").unwrap();
    assert_eq!(m.to_string(), "http://[fd00::1]:5000/a/b");
    assert_eq!(
        Mirror::parse("[fd00::1]").unwrap().url(),
        "https://[fd00::1]"
    );
    let r = ImageRef::parse("[::1]:5000/app:v1").unwrap();
    assert_eq!(r.key(), "[::1]:5000/app:v1");
    assert_eq!(r.repository_key(), "[::1]:5000/app");
}

#[test]
fn mirror_same_as_applies_aliases_on_both_sides() {
    let reg = |s: &str| Registry::parse(s).unwrap();
    let mirror = |s: &str| Mirror::parse(s).unwrap();
    assert!(mirror("Index.Docker.IO").is_same_as(&reg("registry-1.docker.io")));
    assert!(mirror("docker.io:443").is_same_as(&reg("docker.io:443")));
    assert!(!mirror("docker.io:443").is_same_as(&reg("index.docker.io:443")));
    assert!(!mirror("docker.io:443").is_same_as(&Registry::docker_hub()));
    assert!(!mirror("reg:5000").is_same_as(&reg("reg")));
    assert!(mirror("http://[0::1]:5000/").is_same_as(&reg("[::1]:5000")));
}

#[test]
fn insecure_and_reference_edge_cases() {
    let insecure = |s: &str| InsecureEntry::parse(s).unwrap().to_string();
    assert_eq!(insecure("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
    assert_eq!(insecure("REG.local:5000"), "reg.local:5000");
    assert_eq!(insecure("Docker.IO"), "index.docker.io");
    assert!(insecure_err("1.2.3").contains("'1.2.3' is not a valid IPv4 address"));
    assert!(insecure_err("reg:5000:1").contains("'reg:5000:1' is not a valid IPv6 address"));
    assert!(insecure_err("a@b/16").contains("user info is not allowed"));
    assert!(
        InsecureEntry::parse("Docker.IO")
            .unwrap()
            .matches(&Registry::parse("registry-1.docker.io:443").unwrap(), &[])
    );

    let shown = |s: &str| ImageRef::parse(s).unwrap().to_string();
    assert_eq!(shown("Reg.Example:5000/a/b:v"), "reg.example:5000/a/b:v");
    assert_eq!(shown("[::1]:5000/a__b"), "[::1]:5000/a__b:latest");
    assert!(reference_err("reg.example/a/B").contains("must be lower-case ('B')"));
    assert!(reference_err("reg.example/a//b").contains("empty component"));
    assert!(reference_err("reg.example/a/b/").contains("empty component"));
    // The length limit counts the registry as shown (`docker.io`, not the key).
    let at_limit = format!("{}/{}", "a".repeat(200), "b".repeat(44));
    assert_eq!(shown(&at_limit).len(), 255 + ":latest".len());
    assert!(reference_err(&format!("{at_limit}b")).contains("256 characters long"));
}

/// Whitespace around a value is refused the same way by every parser (nothing is
/// trimmed), with a message that says so; whitespace inside is refused as before.
#[test]
fn whitespace_around_a_value_is_refused_by_every_parser() {
    for padded in [" a.example", "a.example ", "\ta.example", "a.example\n"] {
        let shown = padded;
        assert_eq!(
            registry_err(padded),
            format!(
                "invalid registry '{shown}': it has whitespace around it (remove it); expected host[:port]"
            )
        );
        assert_eq!(
            mirror_err(padded),
            format!(
                "registry mirror '{shown}' has whitespace around it (remove it); expected [http[s]://]host[:port][/path]"
            )
        );
        assert!(
            insecure_err(padded).starts_with(&format!(
                "invalid insecure registry '{shown}': it has whitespace around it (remove it);"
            )),
            "{padded:?}"
        );
        let image = padded.replace("a.example", "a.example/app");
        assert_eq!(
            reference_err(&image),
            format!("invalid image reference '{image}': it has whitespace around it (remove it)")
        );
        assert!(MirrorKey::parse(padded).is_err());
        assert!(parse_mirror_flag(&format!("quay.io={padded}")).is_err());
    }
    assert!(reference_err("busy box").contains("is invalid"));
    assert!(mirror_err("m.example/a b").contains("invalid path segment 'a b'"));
}
