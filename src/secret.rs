//! How secrets look in output (SPEC §7.10): passwords, tokens and `CNB_REGISTRY_AUTH`
//! values are never printed, in any output, `--verbose` and `--dry-run` included; each
//! is shown as [`REDACTED`].
//!
//! A leaf module, so that every module that handles a secret (names with user info in
//! [`crate::reference`], [`crate::credentials`], the [`crate::lifecycle`] plan) can use the
//! same marker without depending on the output layer.

/// What every secret is shown as, in any output.
pub const REDACTED: &str = "<redacted>";

/// `postgres://user:secret@db:5432/app` -> `postgres://user:<redacted>@db:5432/app`: the
/// password of every URL in `value`, whatever the variable is called.
pub fn redact_url_passwords(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(REDACTED);
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            },
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_redacted_wherever_they_are() {
        for (value, shown) in [
            (
                "postgres://u:pw@h:5432/db",
                "postgres://u:<redacted>@h:5432/db",
            ),
            (
                "a=https://x:y@one.example b=http://z:w@two.example/p?q",
                "a=https://x:<redacted>@one.example b=http://z:<redacted>@two.example/p?q",
            ),
            (
                "https://user@host/only-a-user",
                "https://user@host/only-a-user",
            ),
            ("https://host/path?u=a:b@c", "https://host/path?u=a:b@c"),
            ("no url here", "no url here"),
            ("redis://:pw@cache", "redis://:<redacted>@cache"),
        ] {
            assert_eq!(redact_url_passwords(value), shown, "{value}");
        }
    }
}
