//! The app's project descriptor (SPEC §9): `project.toml` at the app's root, or the file
//! `-d/--descriptor` names, read as pack reads it (its `pkg/project`):
//!
//! | schema | where | env | include / exclude | builder | buildpacks |
//! |--------|-------|-----|-------------------|---------|------------|
//! | 0.2, 0.3 (`[_] schema-version`) | `[io.buildpacks]` | `[[io.buildpacks.build.env]]` (0.2 also the older `[[io.buildpacks.env.build]]`) | `include`, `exclude` | `builder` | `[[io.buildpacks.group]]` |
//! | none or 0.1 (pack's legacy form) | `[build]` | `[[build.env]]` | `include`, `exclude` | `builder` | `[[build.buildpacks]]` |
//!
//! What cnb does with them is in docs/project-descriptor.md: env below `--env-file` and
//! `--env`, include/exclude applied to the upload, the builder below `--builder` and above
//! the config's default, and buildpacks only when they are the builder's own (anything
//! else, and pre/post groups, is an error rather than a silently different build).

pub mod ignore;

use std::path::{Path, PathBuf};

use thiserror::Error;
use toml_edit::{Item, TableLike};

pub use ignore::Patterns;

/// The file name looked for at the app's root.
pub const PROJECT_TOML: &str = "project.toml";

/// What cnb uses of a project descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub path: PathBuf,
    /// `0.1` (also when no version is declared), `0.2` or `0.3`.
    pub schema: String,
    /// `build.env`, in file order (a later entry of the same name wins).
    pub env: Vec<(String, String)>,
    pub filter: Option<AppFilter>,
    pub builder: Option<String>,
    pub buildpacks: Vec<BuildpackEntry>,
    /// Said to the user (a missing schema version).
    pub warnings: Vec<String>,
}

/// Which app files are uploaded (`build.include` or `build.exclude`; not both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppFilter {
    Include(Patterns),
    Exclude(Patterns),
}

impl AppFilter {
    /// Whether the file or directory at `path` (relative to the app, `/`-separated) is
    /// uploaded.
    pub fn accepts(&self, path: &str) -> bool {
        match self {
            AppFilter::Include(p) => p.matches(path),
            AppFilter::Exclude(p) => !p.matches(path),
        }
    }
}

/// One entry of the descriptor's buildpack group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildpackEntry {
    pub id: Option<String>,
    pub version: Option<String>,
    pub uri: Option<String>,
    /// An inline buildpack (`[...script]`).
    pub inline: bool,
}

impl BuildpackEntry {
    /// How the entry reads in messages.
    pub fn describe(&self) -> String {
        match (&self.id, &self.version, &self.uri) {
            (_, _, Some(uri)) => format!("uri = {uri:?}"),
            (Some(id), Some(v), None) => format!("{id}@{v}"),
            (Some(id), None, None) => id.clone(),
            (None, _, None) => "(an entry without id or uri)".to_string(),
        }
    }
}

/// Why a descriptor cannot be used; each message names the file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProjectError {
    #[error("cannot read the project descriptor {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("invalid project descriptor {path}: {message}")]
    Invalid { path: String, message: String },
}

/// The descriptor for an app: `flag` when given (it must exist), else
/// `<app_dir>/project.toml` when there is one.
pub fn load(app_dir: &Path, flag: Option<&Path>) -> Result<Option<Descriptor>, ProjectError> {
    let path = match flag {
        Some(path) => path.to_path_buf(),
        None => {
            let path = app_dir.join(PROJECT_TOML);
            if !path.exists() {
                return Ok(None);
            }
            path
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| ProjectError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    parse(&text, &path).map(Some)
}

/// Parses descriptor text (`path` names it in messages).
pub fn parse(text: &str, path: &Path) -> Result<Descriptor, ProjectError> {
    let invalid = |message: String| ProjectError::Invalid {
        path: path.display().to_string(),
        message,
    };
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        invalid(e.message().trim().to_string() + &position(text, e.span()))
    })?;
    let root = doc.as_table();
    let schema = match root.get("_").and_then(|t| t.get("schema-version")) {
        None => None,
        Some(item) => Some(
            item.as_str()
                .ok_or_else(|| invalid("_.schema-version must be a string such as \"0.2\"".into()))?
                .to_string(),
        ),
    };
    let mut warnings = Vec::new();
    let (schema, table, env_paths, group_key): (
        String,
        Option<&dyn TableLike>,
        Vec<&[&str]>,
        &str,
    ) = match schema.as_deref() {
        None | Some("0.1") => {
            if schema.is_none() {
                warnings.push(format!(
                        "{} declares no schema version; reading it as schema 0.1 (pack's legacy form), as pack does",
                        path.display()
                    ));
            }
            (
                "0.1".to_string(),
                table_at(root, &["build"], &invalid)?,
                vec![&["env"]],
                "buildpacks",
            )
        }
        Some(v @ ("0.2" | "0.3")) => {
            let env_paths: Vec<&[&str]> = if v == "0.2" {
                vec![&["build", "env"], &["env", "build"]]
            } else {
                vec![&["build", "env"]]
            };
            (
                v.to_string(),
                table_at(root, &["io", "buildpacks"], &invalid)?,
                env_paths,
                "group",
            )
        }
        Some(other) => {
            return Err(invalid(format!(
                "schema-version {other} is not one cnb reads; use 0.2 (or 0.1, pack's legacy form)"
            )));
        }
    };
    let section = if schema == "0.1" {
        "build"
    } else {
        "io.buildpacks"
    };
    let mut descriptor = Descriptor {
        path: path.to_path_buf(),
        schema,
        env: Vec::new(),
        filter: None,
        builder: None,
        buildpacks: Vec::new(),
        warnings,
    };
    let Some(table) = table else {
        return Ok(descriptor);
    };

    // The first env key present is used (0.2's older `env.build` only without `build.env`).
    for env_path in env_paths {
        let Some(item) = item_at(table, env_path) else {
            continue;
        };
        let key = format!("{section}.{}", env_path.join("."));
        for entry in tables_of(item, &key, &invalid)? {
            let name = string_in(entry, "name", &key, &invalid)?
                .ok_or_else(|| invalid(format!("an entry of [[{key}]] has no name")))?;
            let value = string_in(entry, "value", &key, &invalid)?.unwrap_or_default();
            descriptor.env.push((name, value));
        }
        break;
    }

    let include = strings_in(table, "include", section, &invalid)?;
    let exclude = strings_in(table, "exclude", section, &invalid)?;
    descriptor.filter = match (include, exclude) {
        (Some(_), Some(_)) => {
            return Err(invalid(format!(
                "{section} has both include and exclude; keep one (pack refuses both too)"
            )));
        }
        (Some(lines), None) => Some(AppFilter::Include(
            Patterns::new(&lines).map_err(|e| invalid(format!("{section}.include: {e}")))?,
        )),
        (None, Some(lines)) => Some(AppFilter::Exclude(
            Patterns::new(&lines).map_err(|e| invalid(format!("{section}.exclude: {e}")))?,
        )),
        (None, None) => None,
    };
    descriptor.builder = string_in(table, "builder", section, &invalid)?.filter(|b| !b.is_empty());

    if let Some(item) = table.get(group_key) {
        let key = format!("{section}.{group_key}");
        for entry in tables_of(item, &key, &invalid)? {
            let bp = BuildpackEntry {
                id: string_in(entry, "id", &key, &invalid)?,
                version: string_in(entry, "version", &key, &invalid)?,
                uri: string_in(entry, "uri", &key, &invalid)?,
                inline: entry.get("script").is_some(),
            };
            if bp.id.is_none() && bp.uri.is_none() {
                return Err(invalid(format!(
                    "an entry of [[{key}]] has neither id nor uri"
                )));
            }
            if bp.uri.is_some() && bp.version.is_some() {
                return Err(invalid(format!(
                    "an entry of [[{key}]] has both uri and version; keep one"
                )));
            }
            descriptor.buildpacks.push(bp);
        }
    }
    for group in ["pre", "post"] {
        if table.get(group).is_some() {
            return Err(invalid(format!(
                "{section}.{group} adds buildpacks {} the builder's order, which needs a builder made for this \
                 build; cnb cannot make one (pack can: `pack build`), so remove [{section}.{group}] to build with cnb",
                if group == "pre" { "before" } else { "after" }
            )));
        }
    }
    Ok(descriptor)
}

/// ` (line L, column C)` for a parse error's span.
fn position(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let (line, column) = crate::config::line_column(text, span.start);
            format!(" (line {line}, column {column})")
        }
        None => String::new(),
    }
}

fn item_at<'a>(table: &'a dyn TableLike, path: &[&str]) -> Option<&'a Item> {
    let (first, rest) = path.split_first()?;
    let item = table.get(first)?;
    if rest.is_empty() {
        return Some(item);
    }
    item_at(item.as_table_like()?, rest)
}

fn table_at<'a>(
    root: &'a toml_edit::Table,
    path: &[&str],
    invalid: &dyn Fn(String) -> ProjectError,
) -> Result<Option<&'a dyn TableLike>, ProjectError> {
    match item_at(root, path) {
        None => Ok(None),
        Some(item) => item
            .as_table_like()
            .map(Some)
            .ok_or_else(|| invalid(format!("{} must be a table", path.join(".")))),
    }
}

fn tables_of<'a>(
    item: &'a Item,
    key: &str,
    invalid: &dyn Fn(String) -> ProjectError,
) -> Result<Vec<&'a dyn TableLike>, ProjectError> {
    match item {
        Item::ArrayOfTables(aot) => Ok(aot.iter().map(|t| t as &dyn TableLike).collect()),
        Item::Value(toml_edit::Value::Array(array)) => array
            .iter()
            .map(|v| {
                v.as_inline_table()
                    .map(|t| t as &dyn TableLike)
                    .ok_or_else(|| invalid(format!("{key} must be an array of tables ([[{key}]])")))
            })
            .collect(),
        _ => Err(invalid(format!(
            "{key} must be an array of tables ([[{key}]])"
        ))),
    }
}

fn string_in(
    table: &dyn TableLike,
    name: &str,
    section: &str,
    invalid: &dyn Fn(String) -> ProjectError,
) -> Result<Option<String>, ProjectError> {
    match table.get(name) {
        None => Ok(None),
        Some(item) => item
            .as_str()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| invalid(format!("{section}.{name} must be a string"))),
    }
}

fn strings_in(
    table: &dyn TableLike,
    name: &str,
    section: &str,
    invalid: &dyn Fn(String) -> ProjectError,
) -> Result<Option<Vec<String>>, ProjectError> {
    let Some(item) = table.get(name) else {
        return Ok(None);
    };
    let wrong = || invalid(format!("{section}.{name} must be an array of strings"));
    let array = item.as_array().ok_or_else(wrong)?;
    array
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(wrong))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Descriptor {
        parse(text, Path::new("/app/project.toml")).unwrap()
    }

    fn parse_err(text: &str) -> String {
        parse(text, Path::new("/app/project.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn schema_0_2() {
        let d = parse_ok(
            r#"
[_]
schema-version = "0.2"
id = "me/app"

[io.buildpacks]
builder = "registry.corp.example/builder:1"
exclude = ["secret", "*.log"]

[[io.buildpacks.group]]
id = "cnb-test/hello"

[[io.buildpacks.build.env]]
name = "GREETING"
value = "hi"
"#,
        );
        assert_eq!(d.schema, "0.2");
        assert_eq!(
            d.builder.as_deref(),
            Some("registry.corp.example/builder:1")
        );
        assert_eq!(d.env, vec![("GREETING".to_string(), "hi".to_string())]);
        let filter = d.filter.unwrap();
        assert!(!filter.accepts("secret/key"));
        assert!(filter.accepts("message"));
        assert_eq!(d.buildpacks[0].id.as_deref(), Some("cnb-test/hello"));
        assert!(d.warnings.is_empty());
        // The older env key of 0.2 still reads.
        let d = parse_ok(
            "[_]\nschema-version = \"0.2\"\n[[io.buildpacks.env.build]]\nname = \"A\"\nvalue = \"1\"\n",
        );
        assert_eq!(d.env, vec![("A".to_string(), "1".to_string())]);
    }

    #[test]
    fn legacy_form() {
        let d = parse_ok(
            "[project]\nname = \"app\"\n[build]\ninclude = [\"src\"]\nbuilder = \"b\"\n\
             [[build.env]]\nname = \"A\"\nvalue = \"1\"\n[[build.buildpacks]]\nuri = \"docker://x/y\"\n",
        );
        assert_eq!(d.schema, "0.1");
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.filter.as_ref().unwrap().accepts("src/main.go"));
        assert!(!d.filter.as_ref().unwrap().accepts("README"));
        assert_eq!(d.builder.as_deref(), Some("b"));
        assert_eq!(d.env, vec![("A".to_string(), "1".to_string())]);
        assert_eq!(d.buildpacks[0].uri.as_deref(), Some("docker://x/y"));
        // io.buildpacks keys mean nothing in the legacy form.
        let d = parse_ok("[io.buildpacks]\nbuilder = \"b\"\n");
        assert_eq!(d.builder, None);
    }

    #[test]
    fn what_cannot_be_honoured_or_is_wrong_is_an_error() {
        let both = parse_err("[build]\ninclude = [\"a\"]\nexclude = [\"b\"]\n");
        assert!(both.contains("both include and exclude"), "{both}");
        let pre =
            parse_err("[_]\nschema-version = \"0.2\"\n[[io.buildpacks.pre.group]]\nid = \"x\"\n");
        assert!(pre.contains("io.buildpacks.pre"), "{pre}");
        assert!(pre.contains("pack build"), "{pre}");
        let version = parse_err("[_]\nschema-version = \"9.9\"\n");
        assert!(version.contains("9.9"), "{version}");
        let syntax = parse_err("[build\n");
        assert!(syntax.contains("line 1"), "{syntax}");
        let types = parse_err("[build]\nexclude = \"x\"\n");
        assert!(types.contains("build.exclude must be an array"), "{types}");
        let nameless = parse_err("[[build.env]]\nvalue = \"1\"\n");
        assert!(nameless.contains("no name"), "{nameless}");
    }
}
