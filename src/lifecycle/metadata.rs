//! The builder's `io.buildpacks.builder.metadata` label and image env (SPEC §7.3).
//!
//! Label fields read (everything else is ignored):
//! ```json
//! {"images": [{"image": "run", "mirrors": ["m1"]}],
//!  "stack": {"runImage": {"image": "run", "mirrors": ["m1"]}},
//!  "lifecycle": {"version": "0.20.0",
//!                "apis": {"platform": {"supported": ["0.13"], "deprecated": ["0.7"]}},
//!                "api": {"platform": "0.3"}}}
//! ```
//! The run image is `images[0]`, else `stack.runImage` (older builders). Platform APIs
//! come from `lifecycle.apis.platform` (supported + deprecated), else from the single
//! `lifecycle.api.platform` of builders made before lifecycle 0.10.

use std::collections::HashMap;

use serde::Deserialize;

use super::LifecycleError;
use super::platform_api::{ApiVersion, negotiate_platform_api};
use crate::env_vars::lifecycle::{CNB_GROUP_ID, CNB_USER_ID};
use crate::reference::ImageRef;

/// The label holding the builder's metadata.
pub const METADATA_LABEL: &str = "io.buildpacks.builder.metadata";

/// Where in the label the run image was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunImageSource {
    /// `images[0]` (current builders).
    Images,
    /// `stack.runImage` (builders made for the stacks era).
    StackRunImage,
}

impl RunImageSource {
    /// The label path (`images[0]`, `stack.runImage`).
    pub fn field(self) -> &'static str {
        match self {
            RunImageSource::Images => "images[0]",
            RunImageSource::StackRunImage => "stack.runImage",
        }
    }
}

/// The builder's run image with the builder's own mirrors for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuilderRunImage {
    pub image: ImageRef,
    /// In the builder's order; invalid names are dropped (see [`BuilderMetadata::warnings`]).
    pub mirrors: Vec<ImageRef>,
    pub source: RunImageSource,
}

/// What cnb needs from a builder image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuilderMetadata {
    /// The builder, by its original name.
    pub builder: ImageRef,
    pub run_image: BuilderRunImage,
    /// `lifecycle.version`; informational, so its absence is not an error.
    pub lifecycle_version: Option<String>,
    /// Platform APIs the builder's lifecycle lists as supported (or the single old `api.platform`).
    pub supported_platform_apis: Vec<ApiVersion>,
    /// Platform APIs it still accepts but has deprecated.
    pub deprecated_platform_apis: Vec<ApiVersion>,
    /// `CNB_USER_ID` from the builder's env.
    pub uid: u32,
    /// `CNB_GROUP_ID` from the builder's env.
    pub gid: u32,
    /// Things worth telling the user that did not stop the build (e.g. an invalid builder mirror).
    pub warnings: Vec<String>,
    /// The builder's order has image extensions (`io.buildpacks.buildpack.order-extensions`
    /// lists a group): the creator refuses those, so the phases run separately.
    pub has_extensions: bool,
}

/// The label pack writes with the builder's extension order (`null` or `[]` when none).
pub const ORDER_EXTENSIONS_LABEL: &str = "io.buildpacks.buildpack.order-extensions";

/// Whether an order-extensions label lists any group. An unreadable label counts as
/// having extensions, so such a builder takes the path that can say what went wrong.
fn lists_extensions(label: Option<&str>) -> bool {
    match label.map(str::trim) {
        None | Some("") | Some("null") => false,
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Array(groups)) => groups.iter().any(|group| {
                group["group"]
                    .as_array()
                    .is_some_and(|entries| !entries.is_empty())
            }),
            Ok(serde_json::Value::Null) => false,
            _ => true,
        },
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RawLabel {
    images: Option<Vec<RawRunImage>>,
    stack: Option<RawStack>,
    lifecycle: Option<RawLifecycle>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RawRunImage {
    image: Option<String>,
    mirrors: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RawStack {
    #[serde(rename = "runImage")]
    run_image: Option<RawRunImage>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RawLifecycle {
    version: Option<String>,
    apis: Option<RawApis>,
    api: Option<RawApi>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RawApis {
    platform: Option<RawApiSet>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RawApiSet {
    supported: Option<Vec<String>>,
    deprecated: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RawApi {
    platform: Option<String>,
}

impl BuilderMetadata {
    /// Reads the metadata from an inspected builder image: its labels and its config's
    /// `Env` (`KEY=VALUE` entries).
    pub fn from_image(
        builder: &ImageRef,
        labels: &HashMap<String, String>,
        env: &[String],
    ) -> Result<BuilderMetadata, LifecycleError> {
        let mut metadata =
            BuilderMetadata::parse(builder, labels.get(METADATA_LABEL).map(String::as_str), env)?;
        metadata.has_extensions =
            lists_extensions(labels.get(ORDER_EXTENSIONS_LABEL).map(String::as_str));
        Ok(metadata)
    }

    /// Parses the label's JSON (`None` when the image has no such label) and the env.
    pub fn parse(
        builder: &ImageRef,
        label: Option<&str>,
        env: &[String],
    ) -> Result<BuilderMetadata, LifecycleError> {
        let name = builder.to_string();
        let label = label.ok_or_else(|| LifecycleError::MissingLabel {
            builder: name.clone(),
            label: METADATA_LABEL.to_string(),
        })?;
        let raw: RawLabel =
            serde_json::from_str(label).map_err(|e| LifecycleError::InvalidLabel {
                builder: name.clone(),
                label: METADATA_LABEL.to_string(),
                detail: e.to_string(),
            })?;
        let missing = |field: &str| LifecycleError::MissingField {
            builder: name.clone(),
            field: field.to_string(),
            place: format!("its {METADATA_LABEL} label"),
        };
        let invalid = |field: &str, value: &str, detail: String| LifecycleError::InvalidField {
            builder: name.clone(),
            field: field.to_string(),
            place: format!("its {METADATA_LABEL} label"),
            value: value.to_string(),
            detail,
        };
        let mut warnings = Vec::new();

        // Run image: images[0], else stack.runImage.
        let (raw_run, source) = match raw.images.as_ref().and_then(|i| i.first()) {
            Some(first) => (first, RunImageSource::Images),
            None => match raw.stack.as_ref().and_then(|s| s.run_image.as_ref()) {
                Some(run) => (run, RunImageSource::StackRunImage),
                None => {
                    return Err(missing(
                        "a run image (images[0].image or stack.runImage.image)",
                    ));
                }
            },
        };
        let image_field = format!("{}.image", source.field());
        let image_text = raw_run
            .image
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| missing(&image_field))?;
        let image = ImageRef::parse(image_text.trim())
            .map_err(|e| invalid(&image_field, image_text, e.to_string()))?;
        let mut mirrors = Vec::new();
        for text in raw_run.mirrors.iter().flatten() {
            match ImageRef::parse(text.trim()) {
                Ok(m) => {
                    if m != image && !mirrors.contains(&m) {
                        mirrors.push(m);
                    }
                }
                Err(e) => warnings.push(format!(
                    "builder '{name}' lists an invalid run-image mirror '{text}' in {}.mirrors; ignoring it ({e})",
                    source.field()
                )),
            }
        }

        // Platform APIs.
        let lifecycle = raw.lifecycle.unwrap_or_default();
        let parse_list = |field: &str,
                          list: &[String]|
         -> Result<Vec<ApiVersion>, LifecycleError> {
            list.iter()
                .map(|s| {
                    ApiVersion::parse(s)
                        .ok_or_else(|| invalid(field, s, "expected major.minor, e.g. 0.13".into()))
                })
                .collect()
        };
        let (supported, deprecated) = match lifecycle.apis.and_then(|a| a.platform) {
            Some(set) if set.supported.is_some() || set.deprecated.is_some() => (
                parse_list(
                    "lifecycle.apis.platform.supported",
                    set.supported.as_deref().unwrap_or_default(),
                )?,
                parse_list(
                    "lifecycle.apis.platform.deprecated",
                    set.deprecated.as_deref().unwrap_or_default(),
                )?,
            ),
            _ => match lifecycle.api.and_then(|a| a.platform) {
                Some(single) => (parse_list("lifecycle.api.platform", &[single])?, Vec::new()),
                None => {
                    return Err(missing(
                        "a platform API (lifecycle.apis.platform.supported, or lifecycle.api.platform)",
                    ));
                }
            },
        };
        if supported.is_empty() && deprecated.is_empty() {
            return Err(missing("any platform API in lifecycle.apis.platform"));
        }

        let uid = env_id(&name, env, CNB_USER_ID)?;
        let gid = env_id(&name, env, CNB_GROUP_ID)?;

        Ok(BuilderMetadata {
            builder: builder.clone(),
            run_image: BuilderRunImage {
                image,
                mirrors,
                source,
            },
            lifecycle_version: lifecycle.version.filter(|v| !v.trim().is_empty()),
            supported_platform_apis: supported,
            deprecated_platform_apis: deprecated,
            uid,
            gid,
            warnings,
            has_extensions: false,
        })
    }

    /// Supported then deprecated platform APIs, as the builder lists them.
    pub fn platform_apis(&self) -> Vec<ApiVersion> {
        self.supported_platform_apis
            .iter()
            .chain(&self.deprecated_platform_apis)
            .copied()
            .collect()
    }

    /// The highest platform API both this builder and cnb speak (SPEC §7.4).
    pub fn negotiate_platform_api(&self) -> Result<ApiVersion, LifecycleError> {
        negotiate_platform_api(&self.builder.to_string(), &self.platform_apis())
    }
}

/// The label of a lifecycle image that lists its APIs (as `lifecycle.toml`'s `[apis]`).
pub const LIFECYCLE_APIS_LABEL: &str = "io.buildpacks.lifecycle.apis";

/// The platform APIs a lifecycle image declares (supported and deprecated), from its
/// `io.buildpacks.lifecycle.apis` label; `None` when it has none (or an unreadable one).
pub fn lifecycle_image_platform_apis(labels: &HashMap<String, String>) -> Option<Vec<ApiVersion>> {
    let label: serde_json::Value = serde_json::from_str(labels.get(LIFECYCLE_APIS_LABEL)?).ok()?;
    let platform = label.get("platform")?;
    let versions: Vec<ApiVersion> = ["supported", "deprecated"]
        .iter()
        .filter_map(|list| platform.get(list)?.as_array())
        .flatten()
        .filter_map(|v| ApiVersion::parse(v.as_str()?))
        .collect();
    (!versions.is_empty()).then_some(versions)
}

/// A numeric id from the image env (the last entry wins, as in Docker).
fn env_id(builder: &str, env: &[String], key: &str) -> Result<u32, LifecycleError> {
    let value = env
        .iter()
        .filter_map(|entry| entry.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .next_back()
        .ok_or_else(|| LifecycleError::MissingField {
            builder: builder.to_string(),
            field: key.to_string(),
            place: "its image environment".to_string(),
        })?;
    value
        .trim()
        .parse::<u32>()
        .map_err(|_| LifecycleError::InvalidField {
            builder: builder.to_string(),
            field: key.to_string(),
            place: "its image environment".to_string(),
            value: value.to_string(),
            detail: "expected a numeric id".to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ImageRef {
        ImageRef::parse("registry.example/builder:1").unwrap()
    }

    fn env() -> Vec<String> {
        vec![
            "PATH=/usr/bin".to_string(),
            "CNB_USER_ID=1001".to_string(),
            "CNB_GROUP_ID=1002".to_string(),
        ]
    }

    fn img(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    const CURRENT: &str = r#"{
        "description": "a builder",
        "images": [{"image": "paketobuildpacks/run-jammy-base:latest",
                    "mirrors": ["registry.corp.example/run", "not a ref!", "docker.io/paketobuildpacks/run-jammy-base"]},
                   {"image": "second/run"}],
        "stack": {"runImage": {"image": "old/run", "mirrors": []}},
        "lifecycle": {"version": "0.20.1",
                      "api": {"buildpack": "0.2", "platform": "0.3"},
                      "apis": {"buildpack": {"supported": ["0.2"]},
                               "platform": {"deprecated": ["0.3", "0.4"],
                                            "supported": ["0.9", "0.10", "0.13", "0.14"]}}},
        "buildpacks": []
    }"#;

    #[test]
    fn reads_a_current_builder() {
        let md = BuilderMetadata::parse(&builder(), Some(CURRENT), &env()).unwrap();
        assert_eq!(md.run_image.image, img("paketobuildpacks/run-jammy-base"));
        assert_eq!(md.run_image.source, RunImageSource::Images);
        // The invalid mirror is dropped with a warning; the one equal to the image is dropped silently.
        assert_eq!(md.run_image.mirrors, vec![img("registry.corp.example/run")]);
        assert_eq!(md.warnings.len(), 1);
        assert!(md.warnings[0].contains("'not a ref!'"), "{:?}", md.warnings);
        assert!(md.warnings[0].contains("images[0].mirrors"));
        assert_eq!(md.lifecycle_version.as_deref(), Some("0.20.1"));
        assert_eq!(md.uid, 1001);
        assert_eq!(md.gid, 1002);
        assert_eq!(md.platform_apis().len(), 6);
        assert_eq!(md.negotiate_platform_api().unwrap().to_string(), "0.14");
    }

    #[test]
    fn falls_back_to_stack_run_image_and_single_platform_api() {
        let label = r#"{"stack": {"runImage": {"image": "old/run:v1", "mirrors": ["gcr.io/old/run:v1"]}},
                        "lifecycle": {"version": "0.9.0", "api": {"platform": "0.7"}}}"#;
        let md = BuilderMetadata::parse(&builder(), Some(label), &env()).unwrap();
        assert_eq!(md.run_image.image, img("old/run:v1"));
        assert_eq!(md.run_image.mirrors, vec![img("gcr.io/old/run:v1")]);
        assert_eq!(md.run_image.source, RunImageSource::StackRunImage);
        assert_eq!(md.supported_platform_apis, vec![ApiVersion::new(0, 7)]);
        assert_eq!(md.negotiate_platform_api().unwrap(), ApiVersion::new(0, 7));
    }

    #[test]
    fn empty_images_list_falls_back_to_stack() {
        let label = r#"{"images": [], "stack": {"runImage": {"image": "old/run"}},
                        "lifecycle": {"apis": {"platform": {"supported": ["0.12"]}}}}"#;
        let md = BuilderMetadata::parse(&builder(), Some(label), &env()).unwrap();
        assert_eq!(md.run_image.image, img("old/run"));
        assert!(md.run_image.mirrors.is_empty());
        assert_eq!(md.lifecycle_version, None);
    }

    #[test]
    fn missing_label_names_builder_and_label() {
        let err = BuilderMetadata::from_image(&builder(), &HashMap::new(), &env()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'registry.example/builder:1'"), "{text}");
        assert!(text.contains("io.buildpacks.builder.metadata"), "{text}");
    }

    #[test]
    fn invalid_json_is_an_invalid_label() {
        let err = BuilderMetadata::parse(&builder(), Some("{not json"), &env()).unwrap_err();
        assert!(
            matches!(err, LifecycleError::InvalidLabel { .. }),
            "{err:?}"
        );
        let err =
            BuilderMetadata::parse(&builder(), Some(r#"{"images": "x"}"#), &env()).unwrap_err();
        assert!(
            matches!(err, LifecycleError::InvalidLabel { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let apis = r#""lifecycle": {"apis": {"platform": {"supported": ["0.12"]}}}"#;
        let cases = [
            (format!("{{{apis}}}"), "images[0].image or stack.runImage.image"),
            (format!(r#"{{"images": [{{"mirrors": []}}], {apis}}}"#), "images[0].image"),
            (format!(r#"{{"stack": {{"runImage": {{"image": ""}}}}, {apis}}}"#), "stack.runImage.image"),
            (r#"{"images": [{"image": "run"}]}"#.to_string(), "lifecycle.apis.platform.supported"),
            (
                r#"{"images": [{"image": "run"}], "lifecycle": {"apis": {"platform": {"supported": []}}}}"#
                    .to_string(),
                "lifecycle.apis.platform",
            ),
        ];
        for (label, field) in cases {
            let err = BuilderMetadata::parse(&builder(), Some(&label), &env()).unwrap_err();
            assert!(
                matches!(err, LifecycleError::MissingField { .. }),
                "{label}: {err:?}"
            );
            let text = err.to_string();
            assert!(text.contains(field), "{label}: {text}");
            assert!(text.contains("registry.example/builder:1"), "{text}");
        }
    }

    #[test]
    fn invalid_fields_are_named() {
        let label = r#"{"images": [{"image": "UPPER/Case"}], "lifecycle": {"apis": {"platform": {"supported": ["0.12"]}}}}"#;
        let err = BuilderMetadata::parse(&builder(), Some(label), &env()).unwrap_err();
        assert!(
            err.to_string().contains("images[0].image 'UPPER/Case'"),
            "{err}"
        );

        let label = r#"{"images": [{"image": "run"}], "lifecycle": {"apis": {"platform": {"supported": ["0.12", "latest"]}}}}"#;
        let err = BuilderMetadata::parse(&builder(), Some(label), &env()).unwrap_err();
        assert!(
            err.to_string()
                .contains("lifecycle.apis.platform.supported 'latest'"),
            "{err}"
        );
    }

    #[test]
    fn user_and_group_ids_come_from_the_env() {
        let label = r#"{"images": [{"image": "run"}], "lifecycle": {"apis": {"platform": {"supported": ["0.12"]}}}}"#;
        let err = BuilderMetadata::parse(&builder(), Some(label), &["CNB_GROUP_ID=1".into()])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "builder 'registry.example/builder:1' does not set CNB_USER_ID in its image environment"
        );
        let err = BuilderMetadata::parse(
            &builder(),
            Some(label),
            &["CNB_USER_ID=1".into(), "CNB_GROUP_ID=cnb".into()],
        )
        .unwrap_err();
        assert!(err.to_string().contains("CNB_GROUP_ID 'cnb'"), "{err}");
        // Last entry wins; values with '=' in other keys do not confuse the parser.
        let md = BuilderMetadata::parse(
            &builder(),
            Some(label),
            &[
                "X=a=b".into(),
                "CNB_USER_ID=1".into(),
                "CNB_GROUP_ID=2".into(),
                "CNB_USER_ID=3".into(),
            ],
        )
        .unwrap();
        assert_eq!((md.uid, md.gid), (3, 2));
    }

    #[test]
    fn extension_orders_are_told_apart_from_empty_ones() {
        for (label, expected) in [
            (None, false),
            (Some("null"), false),
            (Some("[]"), false),
            (Some(r#"[{"group":[]}]"#), false),
            (Some(r#"[{"group":[{"id":"ext/a","version":"1"}]}]"#), true),
            (Some("not json"), true),
        ] {
            assert_eq!(lists_extensions(label), expected, "{label:?}");
        }
    }

    #[test]
    fn a_lifecycle_images_platform_apis_come_from_its_label() {
        let labels = HashMap::from([(
            LIFECYCLE_APIS_LABEL.to_string(),
            r#"{"buildpack":{"deprecated":[],"supported":["0.10"]},"platform":{"deprecated":["0.6"],"supported":["0.13","0.14"]}}"#.to_string(),
        )]);
        assert_eq!(
            lifecycle_image_platform_apis(&labels),
            Some(vec![
                ApiVersion::new(0, 13),
                ApiVersion::new(0, 14),
                ApiVersion::new(0, 6)
            ])
        );
        assert_eq!(lifecycle_image_platform_apis(&HashMap::new()), None);
        let broken = HashMap::from([(LIFECYCLE_APIS_LABEL.to_string(), "{".to_string())]);
        assert_eq!(lifecycle_image_platform_apis(&broken), None);
    }
}
