//! Sharing the file with pack (SPEC §11). pack (v0.40.9, `internal/config/config.go`)
//! decodes the file into a struct and, on every `pack config ... add|remove`, writes
//! that struct back over the whole file: keys it does not know and every comment are
//! gone. cnb cannot stop that, so it notices it (docs/configuration.md, "When pack
//! rewrites the file"):
//!
//! - every cnb write of a file that holds something pack would drop also writes a copy
//!   of the new text to cnb's state directory, never beside the file, which may be in a
//!   dotfiles repository ([`copy_path`]);
//! - a file with nothing pack would drop and no comments, which differs from that copy,
//!   is a file someone (pack, as a rule) rewrote; what the copy has that the file lost
//!   becomes a [`Lost`] warning, with the commands that put it back.
//!
//! The copy is only ever read for that message: the config file alone is the config.
//! Without a state directory cnb keeps no copy, and says nothing about rewrites.

use std::fmt;
use std::path::{Path, PathBuf};

use toml_edit::{Item, Key, Table, Value};

use super::model::ConfigFile;
use super::{keys, read};
use crate::reference::MirrorKey;

/// pack's top-level keys that hold one value.
const PACK_VALUES: [&str; 7] = [
    "default-registry-url",
    "default-registry",
    keys::DEFAULT_BUILDER,
    keys::PULL_POLICY,
    "experimental",
    keys::LIFECYCLE_IMAGE,
    "layout-repo-dir",
];

/// pack's arrays of tables and the keys of their entries.
const PACK_TABLES: [(&str, &[&str]); 3] = [
    (
        keys::RUN_IMAGES,
        &[keys::RUN_IMAGE, keys::RUN_IMAGE_MIRRORS],
    ),
    (keys::TRUSTED_BUILDERS, &[keys::TRUSTED_BUILDER_NAME]),
    ("registries", &["name", "type", "url"]),
];

/// Where cnb keeps its copies, under the platform's state directory (or local data
/// directory where there is none).
const COPIES_DIR: [&str; 2] = ["cnb", "config-copies"];
/// How many hex digits of the path's SHA-256 name a copy.
const COPY_NAME_HEX_DIGITS: usize = 16;

/// The copy cnb keeps of the config file at `config`:
/// `<state dir>/cnb/config-copies/<hash>.toml`, where `<hash>` is the first 16 hex digits
/// of the SHA-256 of the file's absolute path with every symbolic link followed (so a
/// link and the file it points at share one copy). `None` when there is no state
/// directory (`dirs::state_dir()`, else `dirs::data_local_dir()`) or the file does not
/// exist: then there is no copy.
pub fn copy_path(config: &Path) -> Option<PathBuf> {
    let dir = copies_dir()?;
    let absolute = super::write::resolve_symlink(config).canonicalize().ok()?;
    Some(dir.join(format!("{}.toml", path_hash(&absolute))))
}

/// The first [`COPY_NAME_HEX_DIGITS`] hex digits of the SHA-256 of `path`'s bytes.
fn path_hash(path: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    crate::hex::encode(&digest[..COPY_NAME_HEX_DIGITS / 2])
}

/// `cnb/config-copies` in cnb's [`state_dir`].
fn copies_dir() -> Option<PathBuf> {
    Some(
        COPIES_DIR
            .iter()
            .fold(state_dir()?, |dir, part| dir.join(part)),
    )
}

/// The state directory: `$XDG_STATE_HOME`, or `~/.local/state`, on Linux; the local
/// data directory on macOS and Windows, which have no state directory.
#[cfg(not(test))]
fn state_dir() -> Option<PathBuf> {
    dirs::state_dir().or_else(dirs::data_local_dir)
}

/// Unit tests keep no copies unless they ask for them in a directory of theirs: nothing
/// of theirs lands in the real home.
#[cfg(test)]
use super::pack_tests::state_dir;

/// Whether pack would keep everything in this file: no key outside pack's struct and
/// no comment.
pub(super) fn pack_keeps_all(root: &Table, text: &str) -> bool {
    droppable(root).is_empty() && comment_lines(text) == 0
}

/// A key pack would drop, borrowed from the document: it is only put into words
/// ([`Droppable::place`], [`Droppable::line`]) when a rewrite is reported, so that every
/// read's check ([`pack_keeps_all`]) stays a walk over the keys.
struct Droppable<'a> {
    /// The table it is in: `None` at the top; `Some((name, None))` for `[name]`,
    /// `Some((name, Some(i)))` for the `i`th (0-based) entry of `[[name]]`.
    table: Option<(&'a str, Option<usize>)>,
    /// Its key (the top-level key for the whole table at the top); empty for an empty table.
    key: &'a str,
    /// Its value; `None` for an empty table.
    item: Option<&'a Item>,
}

impl Droppable<'_> {
    /// The table it is in (`[registry-ca]`, `[[run-images]] entry 2`); empty at the top.
    fn place(&self) -> String {
        match self.table {
            None => String::new(),
            Some((name, None)) => format!("[{name}]"),
            Some((name, Some(i))) => format!("[[{name}]] entry {}", i + 1),
        }
    }

    /// `key = value` as written, without comments (`(empty)` for an empty table).
    fn line(&self) -> String {
        match self.item {
            Some(item) => render(self.key, item),
            None => "(empty)".to_string(),
        }
    }
}

/// What pack would drop from a document: each key outside pack's struct.
/// `registry-mirrors` keeps every key (pack reads a map), so only its values' shape
/// matters to pack (an array makes it fail, it does not drop it).
fn droppable(root: &Table) -> Vec<Droppable<'_>> {
    let mut found = Vec::new();
    for (name, item) in root.iter() {
        if PACK_VALUES.contains(&name) || name == keys::REGISTRY_MIRRORS {
            continue;
        }
        if let Some((_, known)) = PACK_TABLES.iter().find(|(t, _)| *t == name) {
            for (i, table) in entries(item).into_iter().enumerate() {
                for (key, value) in table.iter() {
                    if !known.contains(&key) {
                        found.push(Droppable {
                            table: Some((name, Some(i))),
                            key,
                            item: Some(value),
                        });
                    }
                }
            }
            continue;
        }
        match item.as_table_like() {
            Some(table) if !item.is_inline_table() => {
                for (key, value) in table.iter() {
                    found.push(Droppable {
                        table: Some((name, None)),
                        key,
                        item: Some(value),
                    });
                }
                if table.is_empty() {
                    found.push(Droppable {
                        table: Some((name, None)),
                        key: "",
                        item: None,
                    });
                }
            }
            _ => found.push(Droppable {
                table: None,
                key: name,
                item: Some(item),
            }),
        }
    }
    found
}

/// The tables of an array of tables or an array of inline tables.
fn entries(item: &Item) -> Vec<&dyn toml_edit::TableLike> {
    match item {
        Item::ArrayOfTables(a) => a.iter().map(|t| t as &dyn toml_edit::TableLike).collect(),
        Item::Value(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike))
            .collect(),
        _ => Vec::new(),
    }
}

/// `key = value` as TOML, without the comments and spacing around the value.
fn render(key: &str, item: &Item) -> String {
    let key = Key::new(key).display_repr().into_owned();
    match item {
        Item::Value(value) => {
            let mut value = value.clone();
            value.decor_mut().clear();
            format!("{key} = {value}")
        }
        Item::Table(t) => format!("{key} (a table of {} keys)", t.len()),
        Item::ArrayOfTables(a) => format!("{key} ({} tables)", a.len()),
        Item::None => key,
    }
}

/// How many lines of `text` (valid TOML) have a comment.
pub(super) fn comment_lines(text: &str) -> usize {
    #[derive(PartialEq)]
    enum In {
        Code,
        Basic,
        Literal,
        MultiBasic,
        MultiLiteral,
    }
    let bytes = text.as_bytes();
    let mut state = In::Code;
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        match state {
            In::Code => match bytes[i] {
                b'#' => {
                    count += 1;
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'"' if rest.starts_with(b"\"\"\"") => {
                    state = In::MultiBasic;
                    i += 3;
                    continue;
                }
                b'\'' if rest.starts_with(b"'''") => {
                    state = In::MultiLiteral;
                    i += 3;
                    continue;
                }
                b'"' => state = In::Basic,
                b'\'' => state = In::Literal,
                _ => {}
            },
            In::Basic | In::MultiBasic if bytes[i] == b'\\' => i += 1,
            In::Basic if bytes[i] == b'"' || bytes[i] == b'\n' => state = In::Code,
            In::Literal if bytes[i] == b'\'' || bytes[i] == b'\n' => state = In::Code,
            In::MultiBasic if rest.starts_with(b"\"\"\"") => {
                // Up to two more quotes may end the string's content.
                let quotes = rest.iter().take_while(|&&b| b == b'"').count().min(5);
                state = In::Code;
                i += quotes;
                continue;
            }
            In::MultiLiteral if rest.starts_with(b"'''") => {
                let quotes = rest.iter().take_while(|&&b| b == b'\'').count().min(5);
                state = In::Code;
                i += quotes;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    count
}

/// What a file lost since cnb last wrote it, found by comparing it with cnb's copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// The config file.
    pub path: PathBuf,
    /// cnb's copy of it as cnb last wrote it.
    pub copy: PathBuf,
    /// Each setting lost, in the copy's order.
    pub items: Vec<LostItem>,
    /// Lines with comments in the copy (the file has none).
    pub comment_lines: usize,
}

/// One setting the file lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostItem {
    /// What it was, as the user would write it.
    pub what: String,
    /// The `cnb config` commands (their arguments) that put it back, in order; empty
    /// when no command can.
    pub restore: Vec<Vec<String>>,
}

impl Lost {
    /// `cnb --config <file> config <args>` for each item a command can put back,
    /// quoted for a POSIX shell, joined with `&&`: one line puts everything back.
    pub fn restore_command(&self) -> Option<String> {
        let commands = self.restore_commands();
        (!commands.is_empty()).then(|| commands.join(" && "))
    }

    fn restore_commands(&self) -> Vec<String> {
        self.items
            .iter()
            .flat_map(|item| &item.restore)
            .map(|args| {
                let mut words = vec![
                    "cnb".to_string(),
                    "--config".to_string(),
                    shell_quote(&self.path.to_string_lossy()),
                    "config".to_string(),
                ];
                words.extend(args.iter().map(|a| shell_quote(a)));
                words.join(" ")
            })
            .collect()
    }
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "config file {} lost cnb's settings since cnb last wrote it: it was rewritten with only the keys pack knows and no comments, as every `pack config` change does",
            self.path.display()
        )
    }
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What the file at `path`, whose text is `text` and which reads as `current`, lost
/// since cnb last wrote it; `None` when there is no copy, the copy is the file, or
/// nothing the copy has is missing. Only meaningful for a file pack keeps whole
/// ([`pack_keeps_all`]): the callers check that first.
pub(super) fn lost_since_copy(path: &Path, text: &str, current: &ConfigFile) -> Option<Lost> {
    let copy = copy_path(path)?;
    let copy_text = match read::read_file(&copy) {
        Ok(Some(t)) => t,
        _ => return None,
    };
    if copy_text == text {
        return None;
    }
    let doc = read::parse_document(&copy_text, &copy).ok()?;
    let then = read::validate(&doc, &copy_text, &copy).ok()?;
    let mut items = Vec::new();
    let lists_place = format!("[{}]", keys::REGISTRY_MIRROR_LISTS);
    let ca_place = format!("[{}]", keys::REGISTRY_CA);
    for dropped in droppable(doc.as_table()) {
        let (place, key, line) = (dropped.place(), dropped.key.to_string(), dropped.line());
        if place == lists_place {
            continue;
        }
        let mut restore = Vec::new();
        if place.is_empty() && key == keys::INSECURE_REGISTRIES {
            let mut args = vec![keys::INSECURE_REGISTRIES.to_string(), "add".to_string()];
            args.extend(then.written.insecure_registries.iter().cloned());
            restore.push(args);
        }
        if place == ca_place {
            // A relative CA path is relative to the config file's directory (not the
            // copy's): made absolute, the command works from any directory.
            let base = path.parent().unwrap_or(Path::new(""));
            if let Some((_, file)) = then
                .written
                .registry_cas
                .iter()
                .find(|(name, _)| *name == key)
            {
                restore.push(vec![
                    keys::REGISTRY_CA.to_string(),
                    "add".to_string(),
                    key.clone(),
                    base.join(file).display().to_string(),
                ]);
            }
        }
        let what = if place.is_empty() {
            line
        } else {
            format!("{place} {line}")
        };
        items.push(LostItem { what, restore });
    }
    if let Some(lists) = doc
        .get(keys::REGISTRY_MIRROR_LISTS)
        .and_then(Item::as_table_like)
    {
        for (name, _) in lists.iter() {
            let Ok(key) = MirrorKey::parse(name) else {
                continue;
            };
            if let Some(item) = lost_list(&key, &then, current) {
                items.push(item);
            }
        }
    }
    let comment_lines = comment_lines(&copy_text);
    if items.is_empty() && comment_lines == 0 {
        return None;
    }
    Some(Lost {
        path: path.to_path_buf(),
        copy,
        items,
        comment_lines,
    })
}

/// A list of `[registry-mirror-lists]` in the copy that the file lost: pack kept its
/// first mirror (without a scheme) and dropped the rest, or, for an empty list, kept
/// nothing. A registry whose mirror was changed or removed since (with pack) is not
/// reported: that change is the newer one.
fn lost_list(key: &MirrorKey, then: &ConfigFile, now: &ConfigFile) -> Option<LostItem> {
    let index = then
        .config
        .registry_mirrors
        .iter()
        .position(|e| &e.key == key)?;
    let list = &then.config.registry_mirrors[index].mirrors;
    let (name, written) = &then.written.registry_mirrors[index];
    let current = now.config.registry_mirrors_entry(key);
    match (list.first(), current) {
        (None, None) => Some(LostItem {
            what: format!(
                "[{}] {} = [] (no mirrors for {key}; '*' does not apply to it)",
                keys::REGISTRY_MIRROR_LISTS,
                Key::new(name.as_str()).display_repr()
            ),
            restore: Vec::new(),
        }),
        (Some(first), Some(entry))
            if entry.mirrors.len() == 1 && entry.mirrors[0].same_address(first) =>
        {
            let kept = &entry.mirrors[0];
            let registry = key.to_string();
            let mut restore = Vec::new();
            // When the first mirror lost its scheme, it goes and comes back with it.
            let from = if kept.same_url(first) {
                1
            } else {
                restore.push(vec![
                    keys::REGISTRY_MIRRORS.to_string(),
                    "remove".to_string(),
                    registry.clone(),
                ]);
                0
            };
            if from == written.len() {
                return None;
            }
            let mut args = vec![
                keys::REGISTRY_MIRRORS.to_string(),
                "add".to_string(),
                registry,
            ];
            for m in &written[from..] {
                args.extend(["-m".to_string(), m.clone()]);
            }
            restore.push(args);
            Some(LostItem {
                what: format!(
                    "the mirrors of {key}, in order: {} (pack kept only '{}')",
                    written.join(", "),
                    kept.pack_form()
                ),
                restore,
            })
        }
        _ => None,
    }
}

/// After cnb wrote `text` to `path` (and while it holds the file's lock): keep the copy
/// in step. A text with something pack would drop (`keeps_all` false) is copied;
/// otherwise the copy goes, unless the file had lost something (`lost`) before this
/// write, so the warning stays until the user puts it back or deletes the copy. The
/// copy is advisory: errors are ignored, and it is not fsynced. Only a write calls
/// this, so a command that changes nothing leaves the state directory alone.
pub(super) fn after_write(path: &Path, text: &str, keeps_all: bool, lost: bool) {
    let Some(copy) = copy_path(path) else {
        return;
    };
    if keeps_all {
        if !lost {
            let _ = std::fs::remove_file(&copy);
        }
        return;
    }
    if let Some(dir) = copy.parent()
        && create_private_dir(dir).is_err()
    {
        return;
    }
    let _ = super::write::replace_unsynced(path, &copy, text.as_bytes());
}

/// Creates `dir` and its missing parents, readable by the user only, as the XDG Base
/// Directory spec asks of a state directory (copies of config files from anywhere
/// gather there).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_lines_skip_strings() {
        assert_eq!(comment_lines("a = \"#x\" # c\n# d\nb = '#'\n"), 2);
        assert_eq!(comment_lines("a = \"\"\"\n# not\n\"\"\"\n"), 0);
        assert_eq!(comment_lines("a = '''\n# not\n''' # yes\n"), 1);
        assert_eq!(comment_lines("a = \"\\\"#\"\n"), 0);
        assert_eq!(comment_lines("a = \"\"\"x\"\"\"\"\" # y\n"), 1);
    }

    #[test]
    fn pack_keeps_its_own_keys_only() {
        let doc: toml_edit::DocumentMut = "pull-policy = \"never\"\nexperimental = true\ninsecure-registries = [\"a\"]\n[registry-mirrors]\n\"q\" = \"m\"\n[[run-images]]\nimage = \"x\"\nnote = 1\n[registry-mirror-lists]\n\"q\" = [\"m\", \"n\"]\n"
            .parse()
            .unwrap();
        let found: Vec<(String, String)> = droppable(doc.as_table())
            .into_iter()
            .map(|d| (d.place(), d.line()))
            .collect();
        assert_eq!(
            found,
            vec![
                (String::new(), "insecure-registries = [\"a\"]".to_string()),
                ("[[run-images]] entry 1".to_string(), "note = 1".to_string()),
                (
                    "[registry-mirror-lists]".to_string(),
                    "q = [\"m\", \"n\"]".to_string()
                ),
            ]
        );
    }

    #[test]
    fn restore_commands_are_quoted_for_a_shell() {
        assert_eq!(shell_quote("*"), "'*'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("http://m:5000/x"), "http://m:5000/x");
    }
}
