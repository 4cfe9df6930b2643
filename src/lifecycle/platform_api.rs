//! Platform API versions and negotiation (SPEC §7.4).

use std::fmt;

use serde::{Serialize, Serializer};

use super::LifecycleError;

/// A platform API version, `major.minor`. Ordered numerically (`0.10 > 0.9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

/// The oldest platform API cnb speaks.
pub const MIN_PLATFORM_API: ApiVersion = ApiVersion::new(0, 7);
/// The newest platform API cnb speaks.
pub const MAX_PLATFORM_API: ApiVersion = ApiVersion::new(0, 15);

impl ApiVersion {
    pub const fn new(major: u32, minor: u32) -> ApiVersion {
        ApiVersion { major, minor }
    }

    /// Parses `major.minor` (`0.13`, `1.0`). Surrounding whitespace is ignored; anything
    /// else (a patch level, a `v` prefix, signs) is rejected.
    pub fn parse(input: &str) -> Option<ApiVersion> {
        let (major, minor) = input.trim().split_once('.')?;
        let number = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                s.parse::<u32>().ok()
            }
        };
        Some(ApiVersion::new(number(major)?, number(minor)?))
    }

    /// Whether cnb speaks this version.
    pub fn is_supported(self) -> bool {
        (MIN_PLATFORM_API..=MAX_PLATFORM_API).contains(&self)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Serialised as its `major.minor` string.
impl Serialize for ApiVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Every platform API cnb speaks, oldest first.
pub fn supported_platform_apis() -> Vec<ApiVersion> {
    (MIN_PLATFORM_API.minor..=MAX_PLATFORM_API.minor)
        .map(|minor| ApiVersion::new(0, minor))
        .collect()
}

/// The highest version in `builder_apis` (the builder's supported and deprecated lists
/// together) that cnb also speaks. `builder` names the builder in the error.
pub fn negotiate_platform_api(
    builder: &str,
    builder_apis: &[ApiVersion],
) -> Result<ApiVersion, LifecycleError> {
    builder_apis
        .iter()
        .copied()
        .filter(|v| v.is_supported())
        .max()
        .ok_or_else(|| {
            let mut listed: Vec<ApiVersion> = builder_apis.to_vec();
            listed.sort();
            listed.dedup();
            let builder_apis = if listed.is_empty() {
                "none".to_string()
            } else {
                listed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            LifecycleError::NoCommonPlatformApi {
                builder: builder.to_string(),
                builder_apis,
                cnb_apis: format!("{MIN_PLATFORM_API} to {MAX_PLATFORM_API}"),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ApiVersion {
        ApiVersion::parse(s).unwrap()
    }

    #[test]
    fn parses_major_minor_only() {
        assert_eq!(ApiVersion::parse("0.13"), Some(ApiVersion::new(0, 13)));
        assert_eq!(ApiVersion::parse(" 1.0 "), Some(ApiVersion::new(1, 0)));
        for bad in [
            "", "0", "0.", ".1", "0.1.2", "v0.1", "0.-1", "a.b", "0.+1", "0 .1",
        ] {
            assert_eq!(ApiVersion::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn compares_numerically_not_as_text() {
        assert!(v("0.10") > v("0.9"));
        assert!(v("1.0") > v("0.15"));
        assert_eq!(v("0.10").to_string(), "0.10");
    }

    #[test]
    fn supported_range_is_0_7_to_0_15() {
        let all = supported_platform_apis();
        assert_eq!(all.first(), Some(&v("0.7")));
        assert_eq!(all.last(), Some(&v("0.15")));
        assert_eq!(all.len(), 9);
        assert!(!v("0.6").is_supported());
        assert!(!v("0.16").is_supported());
        assert!(!v("1.0").is_supported());
    }

    #[test]
    fn negotiation_picks_the_highest_common_version() {
        let apis = [
            v("0.3"),
            v("0.9"),
            v("0.10"),
            v("0.12"),
            v("0.16"),
            v("0.8"),
        ];
        assert_eq!(negotiate_platform_api("b", &apis), Ok(v("0.12")));
        assert_eq!(
            negotiate_platform_api("b", &[v("0.7"), v("0.15")]),
            Ok(v("0.15"))
        );
    }

    #[test]
    fn no_common_version_lists_both_sides() {
        let err = negotiate_platform_api("my/builder", &[v("0.6"), v("0.3"), v("0.16")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "builder 'my/builder' supports platform API 0.3, 0.6, 0.16 but cnb supports 0.7 to 0.15; \
             use a builder with a lifecycle that supports one of cnb's"
        );
        let err = negotiate_platform_api("b", &[]).unwrap_err().to_string();
        assert!(err.contains("platform API none"), "{err}");
    }
}
