//! Checks shared by the targets.

use cnb::reference::{ImageRef, InsecureEntry, Mirror, Registry, parse_mirror_flag};

/// A password no error template contains.
const SECRET: &str = "Pw9Zq7Xk";

/// Puts user info with a known password into fuzzer-chosen surroundings
/// (`BEFORE\nAFTER` becomes `BEFORE://user:SECRET@AFTER`, `user:SECRET@AFTER`, ...)
/// and checks that every parser rejects mirrors, registries and insecure entries
/// with user info, and that no error message shows the password.
pub fn check_redaction(input: &str) {
    if input.contains(SECRET) {
        return;
    }
    let (before, after) = input.split_once('\n').unwrap_or(("https", input));
    let values = [
        format!("{before}://user:{SECRET}@{after}"),
        format!("user:{SECRET}@{after}"),
        format!("{before}:{SECRET}@{after}"),
    ];
    for value in &values {
        // Every value has an '@', which no registry or insecure entry can contain.
        match Registry::parse(value) {
            Ok(registry) => panic!("{value:?} accepted as registry {registry}"),
            Err(e) => check_message(value, &e.to_string()),
        }
        match InsecureEntry::parse(value) {
            Ok(entry) => panic!("{value:?} accepted as insecure entry {entry}"),
            Err(e) => check_message(value, &e.to_string()),
        }
        match Mirror::parse(value) {
            Ok(mirror) => assert!(
                !in_userinfo(value),
                "{value:?} with user info accepted as {mirror}"
            ),
            Err(e) => check_message(value, &e.to_string()),
        }
        let flag = format!("{before}={value}");
        if let Err(e) = parse_mirror_flag(&flag) {
            let mirror = flag.split_once('=').map_or("", |(_, mirror)| mirror);
            check_message(mirror, &e.to_string());
        }
        if let Err(e) = ImageRef::parse(value) {
            if value.contains("://") {
                check_message(value, &e.to_string());
            }
        }
    }
}

/// Whether the password is in the user info of `value`, read the way cnb reads it:
/// everything before the first `://` is the scheme, the authority ends at `/`, `?`
/// or `#`, and the user info is the authority up to its last `@`.
fn in_userinfo(value: &str) -> bool {
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority
        .rfind('@')
        .is_some_and(|at| authority[..at].contains(SECRET))
}

/// When the password is in user-info position, the message must not show it.
fn check_message(value: &str, message: &str) {
    if in_userinfo(value) {
        assert!(
            !message.contains(SECRET),
            "{message:?} shows the password of {value:?}"
        );
    }
}
