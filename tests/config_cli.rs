//! `cnb config ...` run as a user would: the built binary against a temporary home.

mod support;

use std::path::Path;

use serde_json::json;
use snapbox::str;
use support::*;

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ------------------------------------------------------------------ registry mirrors

#[test]
fn registry_mirrors_are_appended_in_the_order_given_and_keep_their_place() {
    let h = TestHome::new();
    h.cnb("config registry-mirrors add quay.io -m b.example -m http://a.example:5000")
        .stdout(str![])
        .stderr(str![[r#"
Added mirror b.example for quay.io
Added mirror http://a.example:5000 for quay.io

"#]])
        .run();
    h.cnb("config registry-mirrors add quay.io -m c.example -m B.example")
        .stderr(str![[r#"
Added mirror c.example for quay.io
Mirror b.example is already configured for quay.io; it keeps its place

"#]])
        .run();
    assert_eq!(
        h.json("config registry-mirrors list --output json"),
        json!([{"registry": "quay.io", "mirrors": ["b.example", "http://a.example:5000", "c.example"]}])
    );
    h.cnb("config registry-mirrors list")
        .stdout(str![[r#"
quay.io
  b.example
  http://a.example:5000
  c.example

"#]])
        .stderr(str![])
        .run();
    // pack reads the first mirror; the whole list is cnb's.
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
[registry-mirrors]
"quay.io" = "b.example"

[registry-mirror-lists]
"quay.io" = ["b.example", "http://a.example:5000", "c.example"]

"#]],
    );
}

#[test]
fn docker_hub_has_one_entry_whatever_it_is_called() {
    let h = TestHome::new();
    h.ok("config registry-mirrors add docker.io -m one.example");
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
[registry-mirrors]
"index.docker.io" = "one.example"

"#]],
    );
    h.ok("config registry-mirrors add registry-1.docker.io -m two.example");
    h.ok("config registry-mirrors add Index.Docker.IO -m three.example");
    assert_eq!(
        h.json("config registry-mirrors list -o json"),
        json!([{"registry": "docker.io", "mirrors": ["one.example", "two.example", "three.example"]}])
    );
    h.cnb("config registry-mirrors remove index.docker.io -m two.example")
        .stderr(str![[r#"
Removed mirror two.example for docker.io

"#]])
        .run();
    h.ok("config registry-mirrors remove docker.io -m three.example");
    // One mirror left: pack's string form again.
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
[registry-mirrors]
"index.docker.io" = "one.example"

"#]],
    );
    // A hand-written "docker.io" key is found through the other spellings.
    h.write_config("[registry-mirrors]\n\"docker.io\" = \"hand.example\"\n");
    h.ok("config registry-mirrors add index.docker.io -m x.example");
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
[registry-mirrors]
"docker.io" = "hand.example"

[registry-mirror-lists]
"docker.io" = ["hand.example", "x.example"]

"#]],
    );
    h.ok("config registry-mirrors remove index.docker.io");
    assert_eq!(h.json("config registry-mirrors list -o json"), json!([]));
}

#[test]
fn the_wildcard_entry() {
    let h = TestHome::new();
    h.ok("config registry-mirrors add '*' -m all.example");
    h.ok("config registry-mirrors add quay.io -m q.example");
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
[registry-mirrors]
"*" = "all.example"
"quay.io" = "q.example"

"#]],
    );
    assert_eq!(
        h.json("config registry-mirrors list -o json"),
        json!([{"registry": "*", "mirrors": ["all.example"]}, {"registry": "quay.io", "mirrors": ["q.example"]}])
    );
    h.cnb("config registry-mirrors list")
        .stdout(str![[r#"
*
  all.example
quay.io
  q.example

"#]])
        .run();
    h.ok("config registry-mirrors remove '*' -m all.example");
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
[registry-mirrors]
"quay.io" = "q.example"

"#]],
    );
}

#[test]
fn removing_what_is_not_there_says_so_and_succeeds() {
    let h = TestHome::new();
    h.cnb("config registry-mirrors remove quay.io")
        .stdout(str![])
        .stderr(str![[r#"
No registry mirrors are configured for quay.io; nothing to remove

"#]])
        .run();
    assert!(
        !h.config_path().exists(),
        "a no-op must not create the file"
    );
    h.ok("config registry-mirrors add quay.io -m a.example -m b.example");
    let before = h.read_config().unwrap();
    h.cnb("config registry-mirrors remove quay.io -m zzz.example")
        .stderr(str![[r#"
Mirror zzz.example is not configured for quay.io; nothing to remove

"#]])
        .run();
    assert_eq!(h.read_config().unwrap(), before);
    h.cnb("config registry-mirrors remove quay.io -m a.example -m b.example")
        .stderr(str![[r#"
Removed mirror a.example for quay.io
Removed mirror b.example for quay.io
quay.io has no registry mirrors left; removed its entry

"#]])
        .run();
    assert_eq!(h.read_config().unwrap(), "");
}

// ------------------------------------------------------------------ pack compatibility

/// What `pack config ...` writes, byte for byte (BurntSushi/toml encoder), with a
/// comment a user added on the first line.
const PACK_FILE: &str = r#"# written by pack, edited by hand
default-builder-image = "paketobuildpacks/builder-jammy-base"
experimental = true
pull-policy = "if-not-present"
layout-repo-dir = "/home/u/.pack/layout-repo"

[[trusted-builders]]
  name = "registry.corp.example/builder"

[[run-images]]
  image = "paketobuildpacks/run-jammy-base"
  mirrors = ["registry.corp.example/paketo/run-jammy-base"]

[[registries]]
  name = "corp"
  type = "github"
  url = "https://github.com/corp/registry"

[registry-mirrors]
  "index.docker.io" = "mirror.corp.example" # the only one pack knows
"#;

#[test]
fn a_pack_file_is_read_edited_in_place_and_restored_exactly() {
    let h = TestHome::new();
    h.write_config(PACK_FILE);
    assert_eq!(
        h.json("config registry-mirrors list -o json"),
        json!([{"registry": "docker.io", "mirrors": ["mirror.corp.example"]}])
    );
    assert_eq!(
        h.json("config run-image-mirrors list -o json"),
        json!([{"image": "paketobuildpacks/run-jammy-base", "mirrors": ["registry.corp.example/paketo/run-jammy-base"]}])
    );
    assert_eq!(
        h.json("config trusted-builders list -o json"),
        json!(["registry.corp.example/builder"])
    );
    assert_eq!(
        h.ok("config default-builder").stdout,
        "paketobuildpacks/builder-jammy-base\n"
    );
    assert_eq!(h.ok("config pull-policy").stdout, "if-not-present\n");

    h.ok("config registry-mirrors add ghcr.io -m ghcr-mirror.corp.example");
    h.ok("config run-image-mirrors add paketobuildpacks/run-jammy-base -m z.example/run -m a.example/run");
    h.ok("config trusted-builders add registry.corp.example/other-builder");
    // Still pack's shapes: one mirror per registry is a string; new keys follow pack's indentation.
    assert_eq!(
        h.read_config().unwrap(),
        r#"# written by pack, edited by hand
default-builder-image = "paketobuildpacks/builder-jammy-base"
experimental = true
pull-policy = "if-not-present"
layout-repo-dir = "/home/u/.pack/layout-repo"

[[trusted-builders]]
  name = "registry.corp.example/builder"

[[trusted-builders]]
  name = "registry.corp.example/other-builder"

[[run-images]]
  image = "paketobuildpacks/run-jammy-base"
  mirrors = ["registry.corp.example/paketo/run-jammy-base", "z.example/run", "a.example/run"]

[[registries]]
  name = "corp"
  type = "github"
  url = "https://github.com/corp/registry"

[registry-mirrors]
  "index.docker.io" = "mirror.corp.example" # the only one pack knows
  "ghcr.io" = "ghcr-mirror.corp.example"
"#
    );
    h.ok("config registry-mirrors remove ghcr.io");
    h.ok("config run-image-mirrors remove paketobuildpacks/run-jammy-base -m z.example/run -m a.example/run");
    h.ok("config trusted-builders remove registry.corp.example/other-builder");
    assert_eq!(h.read_config().unwrap(), PACK_FILE);
}

#[test]
fn comments_survive_every_kind_of_edit() {
    let h = TestHome::new();
    let text = "# line one\n\n# about mirrors\n[registry-mirrors]\n# hub\n\"index.docker.io\" = \"a.example\" # first\n\n# tail\n";
    h.write_config(text);
    h.ok("config registry-mirrors add docker.io -m b.example");
    h.ok("config insecure-registries add reg.local:5000");
    h.ok("config pull-policy never");
    let after = h.read_config().unwrap();
    for comment in [
        "# line one\n",
        "# about mirrors\n",
        "# hub\n",
        "# first\n",
        "# tail\n",
    ] {
        assert!(after.contains(comment), "lost {comment:?}:\n{after}");
    }
    assert!(after.starts_with("# line one\n"), "{after}");
    h.ok("config pull-policy --unset");
    h.ok("config insecure-registries remove reg.local:5000");
    h.ok("config registry-mirrors remove docker.io -m b.example");
    assert_eq!(h.read_config().unwrap(), text);
}

// ------------------------------------------------------------------ errors

#[test]
fn a_corrupt_file_fails_with_its_position_and_is_not_touched() {
    let h = TestHome::new();
    let mut transcript = String::new();
    for text in [
        "pull-policy = \"never\"\n[registry-mirrors\n",
        "# ok\npull-policy = 3\n",
        "[registry-mirrors]\n\"quay.io\" = [\"a.example\", 7]\n",
        "[registry-mirrors]\n\"quay.io\" = \"https://\"\n",
    ] {
        h.write_config(text);
        transcript.push_str(&h.transcript(&[
            "config registry-mirrors list",
            "config registry-mirrors add ghcr.io -m g.example",
            "config registry-mirrors remove quay.io",
            "config insecure-registries add reg.local",
            "config pull-policy",
        ]));
        assert_eq!(h.read_config().unwrap(), text, "{text:?} was changed");
        // Commands that do not need the config still work.
        h.cnb("config path")
            .stdout(str![[r#"
[HOME]/.cnb/config.toml

"#]])
            .run();
        h.ok("--help");
        h.ok("config --help");
        assert_eq!(names_in(&h.cnb_home()), vec!["config.toml"]);
    }
    h.assert_text(&transcript, str![[r#"
$ cnb config registry-mirrors list
error: invalid config file [HOME]/.cnb/config.toml:2:18: not valid TOML: unclosed table, expected `]`
[exit 1]
$ cnb config registry-mirrors add ghcr.io -m g.example
error: invalid config file [HOME]/.cnb/config.toml:2:18: not valid TOML: unclosed table, expected `]`
[exit 1]
$ cnb config registry-mirrors remove quay.io
error: invalid config file [HOME]/.cnb/config.toml:2:18: not valid TOML: unclosed table, expected `]`
[exit 1]
$ cnb config insecure-registries add reg.local
error: invalid config file [HOME]/.cnb/config.toml:2:18: not valid TOML: unclosed table, expected `]`
[exit 1]
$ cnb config pull-policy
error: invalid config file [HOME]/.cnb/config.toml:2:18: not valid TOML: unclosed table, expected `]`
[exit 1]
$ cnb config registry-mirrors list
error: invalid config file [HOME]/.cnb/config.toml:2:15: expected a string for pull-policy, found an integer
[exit 1]
$ cnb config registry-mirrors add ghcr.io -m g.example
error: invalid config file [HOME]/.cnb/config.toml:2:15: expected a string for pull-policy, found an integer
[exit 1]
$ cnb config registry-mirrors remove quay.io
error: invalid config file [HOME]/.cnb/config.toml:2:15: expected a string for pull-policy, found an integer
[exit 1]
$ cnb config insecure-registries add reg.local
error: invalid config file [HOME]/.cnb/config.toml:2:15: expected a string for pull-policy, found an integer
[exit 1]
$ cnb config pull-policy
error: invalid config file [HOME]/.cnb/config.toml:2:15: expected a string for pull-policy, found an integer
[exit 1]
$ cnb config registry-mirrors list
error: invalid config file [HOME]/.cnb/config.toml:2:27: expected a string in the mirrors of 'quay.io', found an integer
[exit 1]
$ cnb config registry-mirrors add ghcr.io -m g.example
error: invalid config file [HOME]/.cnb/config.toml:2:27: expected a string in the mirrors of 'quay.io', found an integer
[exit 1]
$ cnb config registry-mirrors remove quay.io
error: invalid config file [HOME]/.cnb/config.toml:2:27: expected a string in the mirrors of 'quay.io', found an integer
[exit 1]
$ cnb config insecure-registries add reg.local
error: invalid config file [HOME]/.cnb/config.toml:2:27: expected a string in the mirrors of 'quay.io', found an integer
[exit 1]
$ cnb config pull-policy
error: invalid config file [HOME]/.cnb/config.toml:2:27: expected a string in the mirrors of 'quay.io', found an integer
[exit 1]
$ cnb config registry-mirrors list
error: invalid config file [HOME]/.cnb/config.toml:2:13: registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]
[exit 1]
$ cnb config registry-mirrors add ghcr.io -m g.example
error: invalid config file [HOME]/.cnb/config.toml:2:13: registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]
[exit 1]
$ cnb config registry-mirrors remove quay.io
error: invalid config file [HOME]/.cnb/config.toml:2:13: registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]
[exit 1]
$ cnb config insecure-registries add reg.local
error: invalid config file [HOME]/.cnb/config.toml:2:13: registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]
[exit 1]
$ cnb config pull-policy
error: invalid config file [HOME]/.cnb/config.toml:2:13: registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]
[exit 1]

"#]]);
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let h = TestHome::new();
    h.write_config("# keep me\n[registry-mirrors]\n\"quay.io\" = \"q.example\"\n");
    let before = h.read_config().unwrap();
    let transcript = h.transcript(&[
        "config registry-mirrors add https://quay.io -m m.example",
        "config registry-mirrors add 'bad host' -m m.example",
        "config registry-mirrors add quay.io:99999 -m m.example",
        "config registry-mirrors add quay.io -m ok.example -m https://",
        "config registry-mirrors add quay.io -m user@m.example",
        "config registry-mirrors add quay.io -m 'm.example?x=1'",
        "config registry-mirrors add quay.io -m ftp://m.example",
        "config registry-mirrors add quay.io -m quay.io",
        "config registry-mirrors remove quay.io -m https://",
        "config registry-mirrors remove quay.io/x",
        "config run-image-mirrors add UPPER/case -m x.example/run",
        "config run-image-mirrors add a/run -m x.example//run",
        "config run-image-mirrors add a/run -m docker.io/a/run:2",
        "config run-image-mirrors remove 'a/run:bad tag'",
        "config insecure-registries add ok.local 10.20.0.1/16",
        "config insecure-registries add reg.local:0",
        "config insecure-registries remove http://reg.local",
        "config default-builder Bad/Builder",
        "config trusted-builders add a/b:c:d",
        "config trusted-builders remove ''",
        "config pull-policy sometimes",
        "config registry-mirrors add quay.io",
    ]);
    h.assert_text(&transcript, str![[r#"
$ cnb config registry-mirrors add https://quay.io -m m.example
error: invalid registry 'https://quay.io': a registry is not a URL; drop 'https://'; expected host[:port]
[exit 2]
$ cnb config registry-mirrors add 'bad host' -m m.example
error: invalid registry 'bad host': host name 'bad host' contains ' '; expected letters, digits, '-' and '.'; expected host[:port]
[exit 2]
$ cnb config registry-mirrors add quay.io:99999 -m m.example
error: invalid registry 'quay.io:99999': port 99999 is out of range 1-65535; expected host[:port]
[exit 2]
$ cnb config registry-mirrors add quay.io -m ok.example -m https://
error: registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]
[exit 2]
$ cnb config registry-mirrors add quay.io -m user@m.example
error: registry mirror 'user@m.example' contains user info, which is not allowed; keep credentials in the Docker config; expected [http[s]://]host[:port][/path]
[exit 2]
$ cnb config registry-mirrors add quay.io -m 'm.example?x=1'
error: registry mirror 'm.example?x=1' has a query string, which is not allowed; expected [http[s]://]host[:port][/path]
[exit 2]
$ cnb config registry-mirrors add quay.io -m ftp://m.example
error: registry mirror 'ftp://m.example' has the unsupported scheme 'ftp://'; use http://, https:// or none; expected [http[s]://]host[:port][/path]
[exit 2]
$ cnb config registry-mirrors add quay.io -m quay.io
error: registry mirror 'quay.io' is the registry 'quay.io' itself; give another address as its mirror
[exit 2]
$ cnb config registry-mirrors remove quay.io -m https://
error: registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]
[exit 2]
$ cnb config registry-mirrors remove quay.io/x
error: invalid registry 'quay.io/x': a registry has no path; drop everything from the first '/'; expected host[:port]
[exit 2]
$ cnb config run-image-mirrors add UPPER/case -m x.example/run
error: invalid image reference 'UPPER/case': repository names must be lower-case ('UPPER')
[exit 2]
$ cnb config run-image-mirrors add a/run -m x.example//run
error: invalid image reference 'x.example//run': the repository path has an empty component
[exit 2]
$ cnb config run-image-mirrors add a/run -m docker.io/a/run:2
error: run-image mirror 'docker.io/a/run:2' is the run image 'a/run' itself; give another image as its mirror
[exit 2]
$ cnb config run-image-mirrors remove 'a/run:bad tag'
error: invalid image reference 'a/run:bad tag': tag 'bad tag' is invalid; tags are letters, digits, '_', '.' and '-', not starting with '.' or '-'
[exit 2]
$ cnb config insecure-registries add ok.local 10.20.0.1/16
error: invalid insecure registry '10.20.0.1/16': host bits are set (did you mean 10.20.0.0/16?); expected host, host:port or a CIDR such as 10.20.0.0/16
[exit 2]
$ cnb config insecure-registries add reg.local:0
error: invalid insecure registry 'reg.local:0': port 0 is out of range 1-65535; expected host, host:port or a CIDR such as 10.20.0.0/16
[exit 2]
$ cnb config insecure-registries remove http://reg.local
error: invalid insecure registry 'http://reg.local': a scheme is not allowed; drop 'http://' and give the host only; expected host, host:port or a CIDR such as 10.20.0.0/16
[exit 2]
$ cnb config default-builder Bad/Builder
error: invalid image reference 'Bad/Builder': repository names must be lower-case ('Bad')
[exit 2]
$ cnb config trusted-builders add a/b:c:d
error: invalid image reference 'a/b:c:d': repository path component 'b:c' is invalid; expected lower-case letters and digits separated by '.', '_', '__' or '-'
[exit 2]
$ cnb config trusted-builders remove ''
error: invalid image reference '': the value is empty
[exit 2]
$ cnb config pull-policy sometimes
error: invalid value 'sometimes' for '[POLICY]'
  [possible values: always, if-not-present, never]

For more information, try '--help'.
[exit 2]
$ cnb config registry-mirrors add quay.io
error: the following required arguments were not provided:
  --mirror <MIRROR>

Usage: cnb config registry-mirrors add --mirror <MIRROR> <REGISTRY>

For more information, try '--help'.
[exit 2]

"#]]);
    assert_eq!(
        h.read_config().unwrap(),
        before,
        "bad input changed the file"
    );
    assert_eq!(
        names_in(&h.cnb_home()),
        vec!["config.toml"],
        "bad input must not even take the lock"
    );
}

/// Images and mirrors are refused alike when they carry whitespace around them,
/// on the command line and in the file: nothing is trimmed, nothing is written.
#[test]
fn whitespace_around_images_and_mirrors_is_refused_alike() {
    let h = TestHome::new();
    h.write_config("# keep me\n");
    let transcript = h.transcript(&[
        "config registry-mirrors add quay.io -m ' m.example'",
        "config registry-mirrors add 'quay.io ' -m m.example",
        "config run-image-mirrors add ' a/run' -m x.example/run",
        "config run-image-mirrors add a/run -m 'x.example/run '",
        "config default-builder 'paketobuildpacks/builder '",
        "config trusted-builders add '\tcorp.example/builder'",
        "config insecure-registries add ' reg.local'",
        "resolve ' busybox'",
    ]);
    h.assert_text(&transcript, str![[r#"
$ cnb config registry-mirrors add quay.io -m ' m.example'
error: registry mirror ' m.example' has whitespace around it (remove it); expected [http[s]://]host[:port][/path]
[exit 2]
$ cnb config registry-mirrors add 'quay.io ' -m m.example
error: invalid registry 'quay.io ': it has whitespace around it (remove it); expected host[:port]
[exit 2]
$ cnb config run-image-mirrors add ' a/run' -m x.example/run
error: invalid image reference ' a/run': it has whitespace around it (remove it)
[exit 2]
$ cnb config run-image-mirrors add a/run -m 'x.example/run '
error: invalid image reference 'x.example/run ': it has whitespace around it (remove it)
[exit 2]
$ cnb config default-builder 'paketobuildpacks/builder '
error: invalid image reference 'paketobuildpacks/builder ': it has whitespace around it (remove it)
[exit 2]
$ cnb config trusted-builders add '	corp.example/builder'
error: invalid image reference '	corp.example/builder': it has whitespace around it (remove it)
[exit 2]
$ cnb config insecure-registries add ' reg.local'
error: invalid insecure registry ' reg.local': it has whitespace around it (remove it); expected host, host:port or a CIDR such as 10.20.0.0/16
[exit 2]
$ cnb resolve ' busybox'
error: invalid image reference ' busybox': it has whitespace around it (remove it)
[exit 2]

"#]]);
    assert_eq!(h.read_config().unwrap(), "# keep me\n");
    let mut transcript = String::new();
    for text in [
        "default-builder-image = \" a/b\"\n",
        "[registry-mirrors]\n\"quay.io\" = [\"m.example \"]\n",
        "[[run-images]]\nimage = \"a/run\"\nmirrors = [\" x.example/run\"]\n",
    ] {
        h.write_config(text);
        transcript.push_str(&h.transcript(&["config registry-mirrors list"]));
    }
    h.assert_text(&transcript, str![[r#"
$ cnb config registry-mirrors list
error: invalid config file [HOME]/.cnb/config.toml:1:25: invalid image reference ' a/b': it has whitespace around it (remove it)
[exit 1]
$ cnb config registry-mirrors list
error: invalid config file [HOME]/.cnb/config.toml:2:14: registry mirror 'm.example ' has whitespace around it (remove it); expected [http[s]://]host[:port][/path]
[exit 1]
$ cnb config registry-mirrors list
error: invalid config file [HOME]/.cnb/config.toml:3:12: invalid image reference ' x.example/run': it has whitespace around it (remove it)
[exit 1]

"#]]);
}

#[test]
fn a_mirror_error_names_the_value_and_the_expected_form() {
    let h = TestHome::new();
    h.cnb("config registry-mirrors add quay.io -m https://")
        .code(2)
        .stdout(str![])
        .stderr(str![[r#"
error: registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]

"#]])
        .run();
}

// ------------------------------------------------------------------ the file

#[cfg(unix)]
#[test]
fn permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let h = TestHome::new();
    h.write_config("pull-policy = \"never\"\n");
    std::fs::set_permissions(h.config_path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    h.ok("config registry-mirrors add quay.io -m q.example");
    h.ok("config pull-policy always");
    let mode = std::fs::metadata(h.config_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    std::fs::set_permissions(h.config_path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    h.ok("config pull-policy never");
    let mode = std::fs::metadata(h.config_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
}

/// Adds a registry from each of forty processes started at once, and checks that
/// the file ends up with all forty and nothing beside it. cnb's copy of it for pack
/// (docs/configuration.md), kept when the file has something pack would drop
/// (`copied`), is then the file itself, alone in its directory.
fn forty_concurrent_adds(h: &TestHome, copied: bool) {
    let mut children: Vec<_> = (0..40)
        .map(|i| {
            let registry = format!("reg{i}.example:5000");
            let mirror = format!("mirror{i}.example");
            h.command(&[
                "config",
                "registry-mirrors",
                "add",
                &registry,
                "-m",
                &mirror,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children.drain(..) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = h.json("config registry-mirrors list -o json");
    let mut registries: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["registry"].as_str().unwrap().to_string())
        .collect();
    registries.sort();
    let mut expected: Vec<String> = (0..40).map(|i| format!("reg{i}.example:5000")).collect();
    expected.sort();
    assert_eq!(registries, expected);
    assert_eq!(names_in(&h.cnb_home()), vec!["config.toml"]);
    let copy = h.config_copy(&h.config_path());
    if copied {
        assert_eq!(
            std::fs::read_to_string(&copy).unwrap(),
            h.read_config().unwrap()
        );
        assert_eq!(
            names_in(copy.parent().unwrap()),
            vec![copy.file_name().unwrap().to_str().unwrap()]
        );
    } else {
        assert!(!h.state_dir().exists());
    }
}

#[test]
fn forty_concurrent_writers_lose_nothing() {
    let h = TestHome::new();
    h.write_config("# shared\n");
    forty_concurrent_adds(&h, true);
    assert!(h.read_config().unwrap().starts_with("# shared\n"));
}

/// The same when there is no file yet: the writers race to create it.
#[test]
fn forty_concurrent_first_writers_lose_nothing() {
    let h = TestHome::new();
    forty_concurrent_adds(&h, false);
}

#[test]
fn the_first_write_creates_the_directory_and_nothing_before_it() {
    let h = TestHome::new();
    h.ok("config registry-mirrors list");
    h.ok("config default-builder");
    assert!(!h.cnb_home().exists(), "reads must not create anything");
    h.ok("config default-builder paketobuildpacks/builder-jammy-base");
    assert_eq!(
        h.read_config().unwrap(),
        "default-builder-image = \"paketobuildpacks/builder-jammy-base\"\n"
    );
}

#[test]
fn lifecycle_image_is_packs_key_set_shown_and_unset() {
    let h = TestHome::new();
    let image = "registry.corp.example/buildpacksio/lifecycle:0.21.17";
    h.assert_text(
        &h.transcript(&[
            "config lifecycle-image",
            &format!("config lifecycle-image {image}"),
            "config lifecycle-image",
        ]),
        str![[r#"
$ cnb config lifecycle-image
No lifecycle image is set (set one with: cnb config lifecycle-image <IMAGE>)
$ cnb config lifecycle-image registry.corp.example/buildpacksio/lifecycle:0.21.17
Lifecycle image set to registry.corp.example/buildpacksio/lifecycle:0.21.17
$ cnb config lifecycle-image
registry.corp.example/buildpacksio/lifecycle:0.21.17

"#]],
    );
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
lifecycle-image = "registry.corp.example/buildpacksio/lifecycle:0.21.17"

"#]],
    );
    h.cnb("config lifecycle-image --unset")
        .stderr(str![[r#"
Removed the lifecycle image (registry.corp.example/buildpacksio/lifecycle:0.21.17)

"#]])
        .run();
    assert_eq!(h.read_config().unwrap(), "");
}

#[test]
fn a_command_that_changes_nothing_creates_nothing() {
    let h = TestHome::new();
    for args in [
        &["config", "registry-mirrors", "remove", "quay.io"][..],
        &[
            "config",
            "registry-mirrors",
            "remove",
            "quay.io",
            "-m",
            "q.example",
        ],
        &["config", "run-image-mirrors", "remove", "a/run"],
        &["config", "insecure-registries", "remove", "reg.local"],
        &[
            "config",
            "trusted-builders",
            "remove",
            "corp.example/builder",
        ],
        &["config", "default-builder", "--unset"],
        &["config", "lifecycle-image", "--unset"],
        &["config", "pull-policy", "--unset"],
    ] {
        h.ok(args);
        assert!(
            !h.cnb_home().exists(),
            "{args:?} created {}",
            h.cnb_home().display()
        );
    }
    // With a file: nothing beside it, and the file is not rewritten.
    h.write_config("[registry-mirrors]\n\"quay.io\" = \"q.example\"\n");
    let before = std::fs::metadata(h.config_path())
        .unwrap()
        .modified()
        .unwrap();
    h.cnb("config registry-mirrors add quay.io -m q.example")
        .stderr(str![[r#"
Mirror q.example is already configured for quay.io; it keeps its place

"#]])
        .run();
    h.ok("config insecure-registries remove reg.local");
    assert_eq!(names_in(&h.cnb_home()), vec!["config.toml"]);
    assert_eq!(
        std::fs::metadata(h.config_path())
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    // A file pack would lose something of (a comment, cnb's keys) gets cnb's copy only
    // when cnb writes it, never from a command that changes nothing.
    h.write_config("# mine\ninsecure-registries = [\"reg.local\"]\n");
    h.ok("config insecure-registries add reg.local");
    h.ok("config registry-mirrors remove quay.io");
    h.ok("config pull-policy --unset");
    assert!(!h.state_dir().exists(), "a no-op kept a copy");
    h.ok("config pull-policy never");
    assert_eq!(
        std::fs::read_to_string(h.config_copy(&h.config_path())).unwrap(),
        h.read_config().unwrap()
    );
}

/// Device nodes, FIFOs and directories are never replaced by a write (the check
/// comes before reading, so a FIFO without a writer does not block), but reading
/// `/dev/null` is an empty config.
#[cfg(unix)]
#[test]
fn special_files_are_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let h = TestHome::new();
    let dir = h.mkdir("special");
    let fifo = dir.join("fifo.toml");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    let link = dir.join("null.toml");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let add = [
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "q.example",
    ];
    for (path, kind) in [
        (Path::new("/dev/null"), "a character device"),
        (link.as_path(), "a character device"),
        (fifo.as_path(), "a FIFO (named pipe)"),
    ] {
        let config = path.to_str().unwrap();
        let out = h.run(&[&["--config", config][..], &add].concat());
        let stderr = out.stderr.clone();
        assert_eq!(out.status.code(), Some(1), "{config}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "is {kind}, not a regular file; cnb only writes regular files"
            )),
            "{config}: {stderr}"
        );
    }
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(names_in(&dir), vec!["fifo.toml", "null.toml"]);

    let Output {
        stdout, stderr: _, ..
    } = h.ok("--config /dev/null config registry-mirrors list -o json");
    assert_eq!(stdout, "[]\n");
}

/// A file without any write permission is refused, even for root (who could
/// replace it; git 2.39's `git config` does), and keeps its mode; a change that
/// changes nothing still succeeds.
#[cfg(unix)]
#[cfg(unix)]
#[test]
fn a_read_only_file_is_not_rewritten() {
    use std::os::unix::fs::PermissionsExt;
    let h = TestHome::new();
    let text = "[registry-mirrors]\n\"quay.io\" = \"q.example\"\n";
    h.write_config(text);
    std::fs::set_permissions(h.config_path(), std::fs::Permissions::from_mode(0o444)).unwrap();
    h.cnb("config registry-mirrors add ghcr.io -m g.example")
        .code(1)
        .stderr(str![[r#"
error: config file [HOME]/.cnb/config.toml is read-only; cnb does not change read-only files (make it writable with: chmod u+w [HOME]/.cnb/config.toml)

"#]])
        .run();
    assert_eq!(h.read_config().unwrap(), text);
    let mode = std::fs::metadata(h.config_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o444);
    h.ok("config registry-mirrors add quay.io -m q.example");
    h.ok("config registry-mirrors list");
    assert_eq!(names_in(&h.cnb_home()), vec!["config.toml"]);
}

/// `--config /dev/zero` (or any file over the cap) fails at once with the limit,
/// instead of reading until memory runs out.
#[test]
fn a_file_over_the_size_cap_is_refused() {
    let h = TestHome::new();
    h.write_config(&format!("# {}\n", "x".repeat(4 * 1024 * 1024)));
    let transcript = h.transcript(&[
        "--config /dev/zero config registry-mirrors list",
        "config registry-mirrors list",
    ]);
    h.assert_text(&transcript, str![[r#"
$ cnb --config /dev/zero config registry-mirrors list
error: config file /dev/zero is larger than 4 MiB, the most cnb reads; is it the right file?
[exit 1]
$ cnb config registry-mirrors list
error: config file [HOME]/.cnb/config.toml is larger than 4 MiB, the most cnb reads; is it the right file?
[exit 1]

"#]]);
}

#[test]
fn invalid_utf8_is_reported_with_its_line_and_column() {
    let h = TestHome::new();
    std::fs::create_dir_all(h.cnb_home()).unwrap();
    std::fs::write(
        h.config_path(),
        b"# \xc3\xa9t\xc3\xa9\npull-policy = \"al\xffways\"\n",
    )
    .unwrap();
    h.cnb("config pull-policy").code(1).stderr(str![[r#"
error: invalid config file [HOME]/.cnb/config.toml:2:18: not valid UTF-8; a config file is UTF-8 text

"#]]).run();
}

/// The operating system's reason is printed once, not once per layer of the error,
/// and a directory given as the config file says what to give instead.
#[test]
fn an_os_error_is_printed_once() {
    let h = TestHome::new();
    std::fs::write(h.path().join("file"), "").unwrap();
    let transcript = h.transcript(&[
        &format!(
            "--config {} config registry-mirrors list",
            h.path().display()
        ),
        &format!(
            "--config {} config registry-mirrors list",
            h.path().join("file/config.toml").display()
        ),
    ]);
    h.assert_text(&transcript, str![[r#"
$ cnb --config [HOME] config registry-mirrors list
error: config file [HOME] is a directory; pass --config with the path of a file (such as [HOME]/config.toml)
[exit 1]
$ cnb --config [HOME]/file/config.toml config registry-mirrors list
error: could not read config file [HOME]/file/config.toml: Not a directory (os error 20)
[exit 1]

"#]]);
}

#[test]
fn crlf_files_keep_crlf_line_breaks() {
    let h = TestHome::new();
    let text = "# mine\r\npull-policy = \"always\"\r\n\r\n[registry-mirrors]\r\n  \"quay.io\" = [\r\n    \"a.example\",\r\n    \"b.example\",\r\n  ]\r\n";
    h.write_config(text);
    h.ok("config registry-mirrors add quay.io -m c.example");
    h.ok("config insecure-registries add reg.local");
    // cnb's older array moved to [registry-mirror-lists] on the first write.
    assert_eq!(
        h.read_config().unwrap(),
        "# mine\r\npull-policy = \"always\"\r\ninsecure-registries = [\"reg.local\"]\r\n\r\n[registry-mirrors]\r\n  \"quay.io\" = \"a.example\"\r\n\r\n[registry-mirror-lists]\r\n  \"quay.io\" = [\r\n    \"a.example\",\r\n    \"b.example\",\r\n    \"c.example\",\r\n  ]\r\n"
    );
    h.ok("config insecure-registries remove reg.local");
    h.ok("config registry-mirrors remove quay.io -m c.example");
    assert_eq!(
        h.read_config().unwrap(),
        "# mine\r\npull-policy = \"always\"\r\n\r\n[registry-mirrors]\r\n  \"quay.io\" = \"a.example\"\r\n\r\n[registry-mirror-lists]\r\n  \"quay.io\" = [\r\n    \"a.example\",\r\n    \"b.example\",\r\n  ]\r\n"
    );
}

/// A write interrupted after creating its temporary file (a crash, a kill) leaves
/// it behind; the next write removes it, and only the temporary files of this
/// config file.
#[test]
fn the_next_write_removes_temporary_files_an_interrupted_one_left() {
    let h = TestHome::new();
    h.write_config("pull-policy = \"always\"\n");
    for name in [
        ".config.toml.aB3xY9.tmp",
        ".config.toml.000000.tmp",
        ".other.toml.aB3xY9.tmp",
    ] {
        std::fs::write(h.cnb_home().join(name), "pull-policy = \"nev").unwrap();
    }
    h.ok("config pull-policy");
    assert_eq!(names_in(&h.cnb_home()).len(), 4, "a read removes nothing");
    h.ok("config pull-policy never");
    assert_eq!(
        names_in(&h.cnb_home()),
        vec![".other.toml.aB3xY9.tmp", "config.toml"]
    );
    assert_eq!(h.read_config().unwrap(), "pull-policy = \"never\"\n");
}

// ------------------------------------------------------------------ output

/// A 1,000-registry file, so that a listing takes many writes.
fn write_large_file(h: &TestHome) {
    let mut text = String::from("[registry-mirrors]\n");
    for i in 0..1000 {
        text.push_str(&format!("\"reg{i}.example:5000\" = \"m{i}.example\"\n"));
    }
    h.write_config(&text);
}

/// Data that cannot be written fails the command with a message; stderr that
/// cannot be written does not panic or change the outcome.
#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_written_is_reported() {
    let h = TestHome::new();
    write_large_file(&h);
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for args in [
        &["config", "registry-mirrors", "list"][..],
        &["config", "registry-mirrors", "list", "-o", "json"],
        &["config", "path"],
        &["--help"],
    ] {
        let out = h.command(args).stdout(full()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr,
            "error: could not write to standard output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
    let out = h
        .command(&[
            "config",
            "registry-mirrors",
            "add",
            "quay.io",
            "-m",
            "q.example",
        ])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        h.read_config()
            .unwrap()
            .contains("\"quay.io\" = \"q.example\"")
    );
    let out = h
        .command(&[
            "config",
            "registry-mirrors",
            "add",
            "bad host",
            "-m",
            "q.example",
        ])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A reader that goes away (`cnb ... | head -0`) ends the command quietly, with
/// status 0.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let h = TestHome::new();
    write_large_file(&h);
    for args in [
        &["config", "registry-mirrors", "list"][..],
        &["config", "registry-mirrors", "list", "-o", "json"],
        &["--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = h.command(args).stdout(writer).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

// ------------------------------------------------------------------ location

#[test]
fn path_follows_flag_then_cnb_config_then_cnb_home_then_the_platform_dir() {
    let h = TestHome::new();
    h.cnb("config path")
        .stdout(str![[r#"
[HOME]/.cnb/config.toml

"#]])
        .run();
    let path_with = |args: &str, change: &dyn Fn(&mut std::process::Command)| {
        let mut cmd = h.command(args);
        change(&mut cmd);
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let elsewhere = |cmd: &mut std::process::Command| {
        cmd.env("CNB_CONFIG", "/elsewhere/cnb.toml");
    };
    h.assert_text(
        &path_with("config path", &elsewhere),
        str![[r#"
/elsewhere/cnb.toml

"#]],
    );
    h.assert_text(
        &path_with("--config /flag/cnb.toml config path", &elsewhere),
        str![[r#"
/flag/cnb.toml

"#]],
    );
    let no_cnb_home = |cmd: &mut std::process::Command| {
        cmd.env_remove("CNB_HOME");
    };
    h.assert_text(
        &path_with("config path", &no_cnb_home),
        str![[r#"
[HOME]/.config/cnb/config.toml

"#]],
    );
}

#[test]
fn the_config_flag_reads_and_writes_that_file() {
    let h = TestHome::new();
    let other = h.path().join("pack-config.toml");
    std::fs::write(&other, PACK_FILE).unwrap();
    let other_s = other.to_str().unwrap();
    h.ok(&[
        "--config",
        other_s,
        "config",
        "insecure-registries",
        "add",
        "reg.local:5000",
    ]);
    assert!(
        std::fs::read_to_string(&other)
            .unwrap()
            .contains("insecure-registries = [\"reg.local:5000\"]\n")
    );
    assert!(!h.config_path().exists());
}

// ------------------------------------------------------------------ the other lists

#[test]
fn run_image_mirrors_keep_the_order_given() {
    let h = TestHome::new();
    h.cnb("config run-image-mirrors add paketobuildpacks/run-jammy-base -m z.example/run -m a.example/run")
        .stderr(str![[r#"
Added run-image mirror z.example/run for paketobuildpacks/run-jammy-base
Added run-image mirror a.example/run for paketobuildpacks/run-jammy-base

"#]])
        .run();
    h.cnb("config run-image-mirrors add docker.io/paketobuildpacks/run-jammy-base:latest -m m.example/run -m z.example/run")
        .stderr(str![[r#"
Added run-image mirror m.example/run for docker.io/paketobuildpacks/run-jammy-base:latest
Run-image mirror z.example/run is already configured for docker.io/paketobuildpacks/run-jammy-base:latest; it keeps its place

"#]])
        .run();
    assert_eq!(
        h.json("config run-image-mirrors list -o json"),
        json!([{"image": "paketobuildpacks/run-jammy-base", "mirrors": ["z.example/run", "a.example/run", "m.example/run"]}])
    );
    h.cnb("config run-image-mirrors list")
        .stdout(str![[r#"
paketobuildpacks/run-jammy-base
  z.example/run
  a.example/run
  m.example/run

"#]])
        .stderr(str![])
        .run();
    h.cnb("config run-image-mirrors remove paketobuildpacks/run-jammy-base -m nope.example/run")
        .stderr(str![[r#"
Run-image mirror nope.example/run is not configured for paketobuildpacks/run-jammy-base; nothing to remove

"#]])
        .run();
    h.cnb("config run-image-mirrors remove paketobuildpacks/run-jammy-base")
        .stderr(str![[r#"
Removed the run-image mirrors of paketobuildpacks/run-jammy-base

"#]])
        .run();
    assert_eq!(h.json("config run-image-mirrors list -o json"), json!([]));
    assert_eq!(h.read_config().unwrap(), "");
}

#[test]
fn insecure_registries_add_remove_list() {
    let h = TestHome::new();
    h.cnb("config insecure-registries add registry.local:5000 10.20.0.0/16 fd00::/8")
        .stderr(str![[r#"
Added insecure registry registry.local:5000
Added insecure registry 10.20.0.0/16
Added insecure registry fd00::/8

"#]])
        .run();
    h.cnb("config insecure-registries add Registry.Local:5000")
        .stderr(str![[r#"
registry.local:5000 is already an insecure registry

"#]])
        .run();
    assert_eq!(
        h.json("config insecure-registries list --output json"),
        json!(["registry.local:5000", "10.20.0.0/16", "fd00::/8"])
    );
    h.cnb("config insecure-registries list")
        .stdout(str![[r#"
registry.local:5000
10.20.0.0/16
fd00::/8

"#]])
        .run();
    h.cnb("config insecure-registries remove 10.20.0.0/16 other.local")
        .stderr(str![[r#"
Removed insecure registry 10.20.0.0/16
other.local is not an insecure registry; nothing to remove

"#]])
        .run();
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
insecure-registries = ["registry.local:5000", "fd00::/8"]

"#]],
    );
}

#[test]
fn trusted_builders_add_remove_list() {
    let h = TestHome::new();
    assert_eq!(h.json("config trusted-builders list -o json"), json!([]));
    h.assert_text(
        &h.transcript(&[
            "config trusted-builders add registry.corp.example/builder",
            "config trusted-builders add registry.corp.example/builder:latest",
            "config trusted-builders list",
        ]),
        str![[r#"
$ cnb config trusted-builders add registry.corp.example/builder
Trusted builder registry.corp.example/builder
$ cnb config trusted-builders add registry.corp.example/builder:latest
registry.corp.example/builder:latest is already a trusted builder
$ cnb config trusted-builders list
registry.corp.example/builder

"#]],
    );
    assert_eq!(
        h.json("config trusted-builders list -o json"),
        json!(["registry.corp.example/builder"])
    );
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
[[trusted-builders]]
name = "registry.corp.example/builder"

"#]],
    );
    h.assert_text(
        &h.transcript(&[
            "config trusted-builders remove other/builder",
            "config trusted-builders remove registry.corp.example/builder",
        ]),
        str![[r#"
$ cnb config trusted-builders remove other/builder
other/builder is not a trusted builder; nothing to remove
$ cnb config trusted-builders remove registry.corp.example/builder
registry.corp.example/builder is no longer a trusted builder

"#]],
    );
    assert_eq!(h.read_config().unwrap(), "");
}

#[test]
fn default_builder_and_pull_policy_show_set_and_unset() {
    let h = TestHome::new();
    let transcript = h.transcript(&[
        "config default-builder",
        "config pull-policy",
        "config default-builder paketobuildpacks/builder-jammy-base",
        "config pull-policy if-not-present",
        "config default-builder",
        "config pull-policy",
    ]);
    h.assert_text(
        &transcript,
        str![[r#"
$ cnb config default-builder
No default builder is set (set one with: cnb config default-builder <IMAGE>)
$ cnb config pull-policy
always
$ cnb config default-builder paketobuildpacks/builder-jammy-base
Default builder set to paketobuildpacks/builder-jammy-base
$ cnb config pull-policy if-not-present
Pull policy set to if-not-present
$ cnb config default-builder
paketobuildpacks/builder-jammy-base
$ cnb config pull-policy
if-not-present

"#]],
    );
    h.assert_text(
        &h.read_config().unwrap(),
        str![[r#"
default-builder-image = "paketobuildpacks/builder-jammy-base"
pull-policy = "if-not-present"

"#]],
    );
    let transcript = h.transcript(&[
        "config default-builder --unset",
        "config pull-policy --unset",
        "config pull-policy --unset",
    ]);
    h.assert_text(
        &transcript,
        str![[r#"
$ cnb config default-builder --unset
Removed the default builder (paketobuildpacks/builder-jammy-base)
$ cnb config pull-policy --unset
Removed the pull-policy setting; the default, always, applies
$ cnb config pull-policy --unset
No pull-policy is set; nothing to remove

"#]],
    );
    assert_eq!(h.read_config().unwrap(), "");
}

#[test]
fn quiet_hides_confirmations_but_not_data() {
    let h = TestHome::new();
    h.cnb("-q config registry-mirrors add quay.io -m q.example")
        .stdout(str![])
        .stderr(str![])
        .run();
    h.cnb("config registry-mirrors list --quiet")
        .stdout(str![[r#"
quay.io
  q.example

"#]])
        .stderr(str![])
        .run();
}

#[test]
fn empty_lists_print_empty_json_arrays() {
    let h = TestHome::new();
    let lists = [
        "registry-mirrors",
        "run-image-mirrors",
        "insecure-registries",
        "trusted-builders",
    ];
    for list in lists {
        h.cnb(&["config", list, "list", "-o", "json"])
            .stdout(str![[r#"
[]

"#]])
            .stderr(str![])
            .run();
    }
    let lines: Vec<String> = lists.iter().map(|l| format!("config {l} list")).collect();
    h.assert_text(&h.transcript(&lines), str![[r#"
$ cnb config registry-mirrors list
No registry mirrors are configured (add one with: cnb config registry-mirrors add <REGISTRY> -m <MIRROR>)
$ cnb config run-image-mirrors list
No run-image mirrors are configured (add one with: cnb config run-image-mirrors add <IMAGE> -m <MIRROR>)
$ cnb config insecure-registries list
No insecure registries are configured (add one with: cnb config insecure-registries add <HOST>)
$ cnb config trusted-builders list
No trusted builders are configured (the well-known builders are always trusted; add one with: cnb config trusted-builders add <IMAGE>)

"#]]);
}

#[test]
fn large_files_are_checked_and_edited() {
    let h = TestHome::new();
    let mut text = String::from("# big\n[registry-mirrors]\n");
    for i in 0..1000 {
        text.push_str(&format!(
            "  \"reg{i}.example:5000\" = [\"m{i}.example\", \"http://n{i}.example:5000/cache\"]\n"
        ));
    }
    h.write_config(&text);
    h.ok("config registry-mirrors add new.example -m n.example");
    // The first write moves cnb's older arrays into [registry-mirror-lists].
    let mut pack_view = String::from("# big\n[registry-mirrors]\n");
    let mut lists = String::from("\n[registry-mirror-lists]\n");
    for i in 0..1000 {
        pack_view.push_str(&format!("  \"reg{i}.example:5000\" = \"m{i}.example\"\n"));
        lists.push_str(&format!(
            "  \"reg{i}.example:5000\" = [\"m{i}.example\", \"http://n{i}.example:5000/cache\"]\n"
        ));
    }
    pack_view.push_str("  \"new.example\" = \"n.example\"\n");
    assert_eq!(h.read_config().unwrap(), format!("{pack_view}{lists}"));
    assert_eq!(
        h.json("config registry-mirrors list -o json")
            .as_array()
            .unwrap()
            .len(),
        1001
    );

    let bad = text.replace(
        "\"http://n900.example:5000/cache\"",
        "\"ftp://n900.example\"",
    );
    h.write_config(&bad);
    let out = h.run("config registry-mirrors add new.example -m n.example");
    let stderr = out.stderr.clone();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:903:", h.config_path().display())),
        "{stderr}"
    );
    assert_eq!(h.read_config().unwrap(), bad);
    assert_eq!(names_in(&h.cnb_home()), vec!["config.toml"]);
    // The failed write left cnb's copy of the last good one alone.
    assert_eq!(
        std::fs::read_to_string(h.config_copy(&h.config_path())).unwrap(),
        format!("{pack_view}{lists}")
    );
}
