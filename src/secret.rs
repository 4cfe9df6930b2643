//! How secrets look in output (SPEC §7.10): passwords, tokens and `CNB_REGISTRY_AUTH`
//! values are never printed, in any output, `--verbose` and `--dry-run` included; each
//! is shown as [`REDACTED`].
//!
//! A leaf module, so that every module that handles a secret (names with user info in
//! [`crate::reference`], [`crate::credentials`], the [`crate::lifecycle`] plan) can use the
//! same marker without depending on the output layer.

/// What every secret is shown as, in any output.
pub const REDACTED: &str = "<redacted>";
