//! Checks shared by the targets.

/// An error message never shows the password of user info in `input`
/// (`scheme://user:password@host` or `user:password@host`, where everything before
/// the first `://` is the scheme and the authority ends at `/`, `?` or `#`).
/// Short passwords, and passwords that also occur elsewhere in the input, are not
/// checked: their text can legitimately appear in the message.
pub fn assert_no_password(input: &str, message: &str) {
    let rest_start = input.find("://").map_or(0, |i| i + 3);
    let rest = &input[rest_start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let Some(at) = authority.rfind('@') else {
        return;
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return;
    };
    let password = &userinfo[colon + 1..];
    let start = rest_start + colon + 1;
    let elsewhere = format!("{}{}", &input[..start], &input[start + password.len()..]);
    if password.len() < 4 || "<redacted>".contains(password) || elsewhere.contains(password) {
        return;
    }
    assert!(
        !message.contains(password),
        "{message:?} shows the password of {input:?}"
    );
}
