//! The command line's value parsers (SPEC §3: bad names are refused when they are
//! entered): each turns one value into cnb's type with the parsers of
//! [`crate::reference`], so commands receive [`ImageRef`]s, [`Mirror`]s,
//! [`InsecureEntry`]s and durations instead of strings.
//!
//! A refused value is a clap error whose source is cnb's own ([`NameError`] or
//! [`UsageError`]); [`refused_value`] gives `main` that error, which it prints as it
//! prints any other (`error: <message>`, exit status 2), so the message is the same
//! whether a value comes from the command line or reaches a parser any other way.

use std::error::Error;
use std::ffi::OsString;
use std::time::Duration;

use clap::builder::ValueParser;

use crate::error::UsageError;
use crate::reference::{Given, ImageRef, InsecureEntry, Mirror, MirrorFlag, MirrorKey, NameError};

/// The longest probe timeout accepted (an hour): anything longer is a typo.
pub const MAX_REGISTRY_TIMEOUT_SECS: f64 = 3600.0;

/// An image reference.
pub fn image(value: &str) -> Result<ImageRef, NameError> {
    ImageRef::parse(value)
}

/// An image reference, keeping how it was typed.
pub fn given_image(value: &str) -> Result<Given<ImageRef>, NameError> {
    Given::parse(value, ImageRef::parse)
}

/// A `registry-mirrors` key: a registry or `*`.
pub fn mirror_key(value: &str) -> Result<MirrorKey, NameError> {
    MirrorKey::parse(value)
}

/// A mirror, keeping how it was typed.
pub fn given_mirror(value: &str) -> Result<Given<Mirror>, NameError> {
    Given::parse(value, Mirror::parse)
}

/// An insecure-registry entry: host, host:port or CIDR.
pub fn insecure_entry(value: &str) -> Result<InsecureEntry, NameError> {
    InsecureEntry::parse(value)
}

/// `REGISTRY=MIRROR`; a mirror that is its registry's own address is refused.
pub fn registry_mirror(value: &str) -> Result<MirrorFlag, NameError> {
    MirrorFlag::parse(value)
}

/// `--registry-timeout SECS`: a number of seconds, more than 0 and at most an hour.
/// What is not a number is clap's error (`invalid float literal`), as for any number.
pub fn registry_timeout(value: &str) -> Result<Duration, Box<dyn Error + Send + Sync>> {
    let secs: f64 = value.parse()?;
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_REGISTRY_TIMEOUT_SECS {
        return Err(Box::new(UsageError(format!(
            "invalid --registry-timeout '{secs}'; expected a number of seconds greater than 0 and at most {MAX_REGISTRY_TIMEOUT_SECS}"
        ))));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// cnb's own error behind a value clap refused, when it is one of cnb's parsers'.
pub fn refused_value(error: &clap::Error) -> Option<&(dyn Error + 'static)> {
    if error.kind() != clap::error::ErrorKind::ValueValidation {
        return None;
    }
    let source = error.source()?;
    (source.is::<NameError>() || source.is::<UsageError>()).then_some(source)
}

/// The command line with every value taken as it is and errors ignored, for reading
/// a line that may not parse (what is being completed, or the global flags of a
/// refused line) without stopping at the first bad value. `--config` keeps its type.
pub fn lenient_command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = super::Cli::command().ignore_errors(true);
    // Subcommands are deferred: their arguments exist once the command is built.
    cmd.build();
    take_values_as_strings(cmd)
}

fn take_values_as_strings(cmd: clap::Command) -> clap::Command {
    let cmd = cmd.mut_args(|arg| {
        if arg.get_id() != "config" && arg.get_action().takes_values() {
            arg.value_parser(ValueParser::string())
        } else {
            arg
        }
    });
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    names.iter().fold(cmd, |cmd, name| {
        cmd.mut_subcommand(name, take_values_as_strings)
    })
}

/// Whether `--no-color` is on a command line that clap refused.
pub fn no_color_in(args: impl IntoIterator<Item = OsString>) -> bool {
    lenient_command()
        .try_get_matches_from(args)
        .ok()
        .and_then(|m| m.try_get_one::<bool>("no_color").ok().flatten().copied())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["cnb"].iter().chain(args))
    }

    #[test]
    fn refused_values_carry_cnbs_own_error() {
        for (args, message) in [
            (
                &["resolve", "app", "--registry-mirror", "no-equals"][..],
                "registry mirror 'no-equals' is not of the form REGISTRY=MIRROR (e.g. docker.io=mirror.example); expected [http[s]://]host[:port][/path]",
            ),
            (
                &["resolve", "app", "--insecure-registry", "10.0.0.1/8"],
                "invalid insecure registry '10.0.0.1/8'",
            ),
            (
                &["resolve", "app", "--registry-timeout", "0"],
                "invalid --registry-timeout '0'; expected a number of seconds greater than 0 and at most 3600",
            ),
            (
                &["resolve", "app", "--registry-timeout", "NaN"],
                "invalid --registry-timeout 'NaN'",
            ),
            (
                &["build", "UPPER/case"],
                "invalid image reference 'UPPER/case'",
            ),
        ] {
            let err = parse(args).unwrap_err();
            let refused = refused_value(&err).unwrap_or_else(|| panic!("{args:?}: {err}"));
            assert!(
                refused.to_string().starts_with(message),
                "{args:?}: {refused}"
            );
        }
        // Not a number: clap's own message, as for any number.
        let err = parse(&["resolve", "app", "--registry-timeout", "soon"]).unwrap_err();
        assert!(refused_value(&err).is_none());
        assert!(err.to_string().contains("invalid float literal"), "{err}");
    }

    #[test]
    fn commands_receive_parsed_values() {
        let cli = parse(&[
            "resolve",
            "busybox",
            "--registry-mirror",
            "docker.io=m.example",
            "--insecure-registry",
            "reg.example",
            "--registry-timeout",
            "0.5",
        ])
        .unwrap();
        let Command::Resolve(args) = cli.command else {
            unreachable!()
        };
        assert_eq!(args.images[0].text, "busybox");
        assert_eq!(
            args.images[0].value.key(),
            "index.docker.io/library/busybox:latest"
        );
        assert_eq!(
            args.registry.registry_mirrors,
            [MirrorFlag {
                registry: MirrorKey::parse("docker.io").unwrap(),
                mirror: Mirror::parse("m.example").unwrap(),
            }]
        );
        assert_eq!(
            args.registry.insecure_registries,
            [InsecureEntry::parse("reg.example").unwrap()]
        );
        assert_eq!(
            args.registry.registry_timeout,
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn a_lenient_parse_reads_past_bad_values() {
        let matches = lenient_command()
            .try_get_matches_from([
                "cnb",
                "config",
                "registry-mirrors",
                "remove",
                "bad host",
                "-m",
                "https://",
                "--config",
                "/tmp/x.toml",
            ])
            .unwrap();
        let (_, config) = matches.subcommand().unwrap();
        let (_, mirrors) = config.subcommand().unwrap();
        let (_, remove) = mirrors.subcommand().unwrap();
        assert_eq!(
            remove.get_one::<String>("registry").map(String::as_str),
            Some("bad host")
        );
        assert_eq!(
            remove.get_one::<std::path::PathBuf>("config"),
            Some(&std::path::PathBuf::from("/tmp/x.toml"))
        );
        assert!(no_color_in(
            ["cnb", "--no-color", "resolve", "Bad/Ref"].map(OsString::from)
        ));
        assert!(!no_color_in(
            ["cnb", "resolve", "Bad/Ref"].map(OsString::from)
        ));
    }
}
