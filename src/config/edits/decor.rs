//! Where new values, keys and tables go in the text, and which comments stay when
//! something is removed (toml_edit calls the whitespace and comments around an item
//! its decor). The changes in [`super`] use these so that an edited file looks as
//! if its author had made the change: pack's indentation, one line per element in a
//! multi-line array, a file's header comment kept at the top.

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike, Value};

/// In a file with nothing but comments, toml_edit keeps them after the last item,
/// where a new key would land above them; move them to the top so they stay first.
pub(super) fn comments_to_top(doc: &mut DocumentMut) {
    if doc.is_empty()
        && let Some(trailing) = doc.trailing().as_str().map(str::to_string)
        && !trailing.is_empty()
    {
        let mut prefix = doc
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        prefix.push_str(&trailing);
        doc.decor_mut().set_prefix(prefix);
        doc.set_trailing("");
    }
}

/// The comments [`comments_to_top`] moved end the file's text when it has no final
/// line break; once an edit has put something after them, they need one, or what
/// follows would be part of the last comment.
pub(super) fn top_comments_end_their_line(doc: &mut DocumentMut) {
    if doc.is_empty() {
        return;
    }
    if let Some(prefix) = doc.decor().prefix().and_then(|p| p.as_str())
        && !prefix.is_empty()
        && !prefix.ends_with('\n')
    {
        let prefix = format!("{prefix}\n");
        doc.decor_mut().set_prefix(prefix);
    }
}

/// When a file starts with a table, its first comment lines are stored with that
/// table; a key added at the top level would be written above them. If that just
/// happened, the header (the comment lines up to the last blank line, or all of
/// them when there is no blank line) moves back to the top of the file.
pub(super) fn header_stays_first(doc: &mut DocumentMut, had_values: bool) {
    let has_values = doc.iter().any(|(_, item)| item.is_value());
    if had_values && has_values {
        return;
    }
    let top = doc
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_string();
    let first_table = doc
        .as_table_mut()
        .iter_mut()
        .filter_map(|(_, item)| match item {
            Item::Table(t) => Some(t),
            Item::ArrayOfTables(a) => a.get_mut(0),
            _ => None,
        })
        .filter(|t| t.position().is_some())
        .min_by_key(|t| t.position());
    let Some(table) = first_table else {
        return;
    };
    if !has_values {
        // The last top-level key went: the header moved up earlier is followed by its
        // blank line already; the table need not add another.
        if top.ends_with("\n\n")
            && let Some(prefix) = table.decor().prefix().and_then(|p| p.as_str())
            && let Some(rest) = prefix.strip_prefix('\n')
        {
            let rest = rest.to_string();
            table.decor_mut().set_prefix(rest);
        }
        return;
    }
    let Some(prefix) = table
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .map(str::to_string)
        .filter(|p| p.contains('#'))
    else {
        return;
    };
    let (header, rest) = match prefix.trim_end_matches([' ', '\t']).rfind("\n\n") {
        Some(i) => (prefix[..i + 2].to_string(), prefix[i + 2..].to_string()),
        None => (prefix.clone(), String::new()),
    };
    table.decor_mut().set_prefix(format!("\n{rest}"));
    let mut top = top;
    top.push_str(&header);
    doc.decor_mut().set_prefix(top);
}

/// The strings of a string or array item, in order.
pub(super) fn item_strings(item: &Item) -> Vec<String> {
    match item {
        Item::Value(Value::String(s)) => vec![s.value().clone()],
        Item::Value(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn array_of(values: &[String]) -> Array {
    let mut array = Array::new();
    for v in values {
        array.push(v.as_str());
    }
    array
}

/// The whitespace a new element or key should start with, copied from a sibling's
/// prefix: a line break and the indentation when the sibling is on its own line,
/// else a space. Comments are never copied.
fn spacing_like(prefix: &str) -> String {
    match prefix.rfind('\n') {
        Some(i) => {
            let indent: String = prefix[i + 1..]
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            format!("\n{indent}")
        }
        None => " ".to_string(),
    }
}

/// The indentation of a key line, copied from a sibling key's prefix.
fn indent_like(prefix: &str) -> String {
    let last_line = prefix.rsplit('\n').next().unwrap_or("");
    last_line
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// Appends strings to a string or array item. A string becomes an array (keeping
/// the value's trailing comment) when it gets company; a multi-line array gets its
/// new elements on new lines with the same indentation.
pub(super) fn append_strings(item: &mut Item, values: &[String]) {
    if values.is_empty() {
        return;
    }
    match item {
        Item::Value(Value::String(_)) => {
            let Some(old) = item.as_value().cloned() else {
                return;
            };
            let decor = old.decor().clone();
            let mut first = old;
            first.decor_mut().clear();
            let mut array = Array::new();
            array.push_formatted(first);
            for v in values {
                array.push(v.as_str());
            }
            let mut new = Value::Array(array);
            *new.decor_mut() = decor;
            *item = Item::Value(new);
        }
        Item::Value(Value::Array(array)) => {
            let spacing = if array.len() >= 2 {
                array
                    .get(array.len() - 1)
                    .and_then(|v| v.decor().prefix())
                    .and_then(|p| p.as_str())
                    .map(spacing_like)
            } else {
                None
            };
            for v in values {
                let mut value = Value::from(v.as_str());
                if let Some(s) = &spacing {
                    value.decor_mut().set_prefix(s.as_str());
                }
                array.push_formatted(value);
            }
        }
        _ => {}
    }
}

/// Keeps the strings for which `keep` is true; returns the removed strings and how
/// many are left. An emptied string item is left for the caller to remove.
pub(super) fn retain_strings(item: &mut Item, keep: impl Fn(&str) -> bool) -> (Vec<String>, usize) {
    match item {
        Item::Value(Value::String(s)) => {
            let value = s.value().clone();
            if keep(&value) {
                (Vec::new(), 1)
            } else {
                (vec![value], 0)
            }
        }
        Item::Value(Value::Array(array)) => {
            let mut removed = Vec::new();
            let first_prefix = array
                .get(0)
                .and_then(|v| v.decor().prefix())
                .and_then(|p| p.as_str())
                .map(str::to_string);
            let mut i = 0;
            let mut removed_first = false;
            while i < array.len() {
                let s = array.get(i).and_then(Value::as_str).map(str::to_string);
                match s {
                    Some(s) if !keep(&s) => {
                        if i == 0 {
                            removed_first = true;
                        }
                        array.remove(i);
                        removed.push(s);
                    }
                    _ => i += 1,
                }
            }
            if removed_first && let Some(first) = array.get_mut(0) {
                first
                    .decor_mut()
                    .set_prefix(first_prefix.unwrap_or_default());
            }
            let left = array.len();
            if left == 0 {
                array.set_trailing_comma(false);
            }
            (removed, left)
        }
        _ => (Vec::new(), 0),
    }
}

/// Inserts a key at the end of a table with the indentation its last key has
/// (pack indents the keys of its tables by two spaces).
pub(super) fn insert_like_siblings(table: &mut dyn TableLike, key: &str, item: Item) {
    let indent = table
        .iter()
        .last()
        .and_then(|(k, _)| table.key(k))
        .and_then(|k| k.leaf_decor().prefix())
        .and_then(|p| p.as_str())
        .map(indent_like);
    table.insert(key, item);
    if let Some(indent) = indent
        && !indent.is_empty()
        && let Some(mut k) = table.key_mut(key)
    {
        k.leaf_decor_mut().set_prefix(indent);
    }
}

/// The indentation of a table's first key (pack indents by two spaces).
pub(super) fn first_key_indent(table: &dyn TableLike) -> String {
    table
        .iter()
        .next()
        .and_then(|(k, _)| table.key(k))
        .and_then(|k| k.leaf_decor().prefix())
        .and_then(|p| p.as_str())
        .map(indent_like)
        .unwrap_or_default()
}

/// [`insert_like_siblings`], with `indent` for the first key of an empty table.
pub(super) fn insert_indented(table: &mut dyn TableLike, key: &str, item: Item, indent: &str) {
    let empty = table.is_empty();
    insert_like_siblings(table, key, item);
    if empty
        && !indent.is_empty()
        && let Some(mut k) = table.key_mut(key)
    {
        k.leaf_decor_mut().set_prefix(indent);
    }
}

/// Removes `key` from `table`. Comment lines above it that are separated from it by
/// a blank line belong to what comes before (a file header, a section comment) and
/// are kept: moved to the next key, or to the top of the table when it is the last.
/// Comments directly above the key are about the key and go with it.
pub(super) fn remove_key_keep_comments(table: &mut dyn TableLike, key: &str) -> Option<String> {
    let prefix = table
        .key(key)
        .and_then(|k| k.leaf_decor().prefix())
        .and_then(|p| p.as_str())
        .map(str::to_string)
        .unwrap_or_default();
    // Only key/value lines carry a prefix that is printed above them; sub-tables have
    // their own header decoration.
    let keys: Vec<String> = table
        .iter()
        .filter(|(_, item)| item.is_value())
        .map(|(k, _)| k.to_string())
        .collect();
    let position = keys.iter().position(|k| k == key);
    let first = position == Some(0);
    // For the first key, everything above it is kept (a file starts with its header).
    let kept = if first {
        prefix.clone()
    } else {
        match prefix.trim_end_matches([' ', '\t']).rfind("\n\n") {
            Some(i) => prefix[..i + 2].to_string(),
            None => String::new(),
        }
    };
    let next = position.and_then(|p| keys.get(p + 1)).cloned();
    table.remove(key);
    if !kept.contains('#') {
        return None;
    }
    if let Some(n) = next
        && let Some(mut k) = table.key_mut(&n)
    {
        let old = k
            .leaf_decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        k.leaf_decor_mut().set_prefix(format!("{kept}{old}"));
        return None;
    }
    Some(kept)
}

/// Removes a top-level key or array of tables; a header comment above it that has
/// nowhere else to go moves to the top of the document (the first line of a file
/// is never lost).
pub(super) fn remove_root_key(doc: &mut DocumentMut, key: &str) {
    let is_value = doc.get(key).is_some_and(Item::is_value);
    if !is_value {
        // Tables carry their comments in their own decor; nothing above them to keep
        // except through the table header, which goes with them.
        let header = match doc.get(key) {
            Some(Item::ArrayOfTables(a)) => a
                .get(0)
                .and_then(|t| t.decor().prefix())
                .and_then(|p| p.as_str())
                .map(str::to_string),
            Some(Item::Table(t)) => t
                .decor()
                .prefix()
                .and_then(|p| p.as_str())
                .map(str::to_string),
            _ => None,
        };
        doc.remove(key);
        if let Some(h) = header.filter(|h| h.contains('#')) {
            keep_at_top(doc, &h);
        }
        return;
    }
    if let Some(kept) = remove_key_keep_comments(doc.as_table_mut(), key) {
        keep_at_top(doc, &kept);
    }
}

/// Appends comment text to the document's leading decoration.
fn keep_at_top(doc: &mut DocumentMut, text: &str) {
    let old = doc
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_string();
    let mut text = text.trim_start_matches('\n').to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    doc.decor_mut().set_prefix(format!("{old}{text}"));
}

pub(super) fn drop_empty_table(doc: &mut DocumentMut, key: &str) {
    let removable = match doc.get(key) {
        Some(Item::Table(t)) => {
            t.is_empty()
                && !t
                    .decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p.contains('#'))
                && !t
                    .decor()
                    .suffix()
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p.contains('#'))
        }
        _ => false,
    };
    if removable {
        doc.remove(key);
    }
}

/// An array of tables (`[[key]]`) or an array of inline tables (`key = [{..}]`).
pub(super) enum Tables<'a> {
    Aot(&'a ArrayOfTables),
    Inline(&'a Array),
}

pub(super) enum TablesMut<'a> {
    Aot(&'a mut ArrayOfTables),
    Inline(&'a mut Array),
}

pub(super) fn tables_of<'a>(doc: &'a DocumentMut, key: &str) -> Option<Tables<'a>> {
    match doc.get(key)? {
        Item::ArrayOfTables(a) => Some(Tables::Aot(a)),
        Item::Value(Value::Array(a)) => Some(Tables::Inline(a)),
        _ => None,
    }
}

pub(super) fn tables_of_mut<'a>(doc: &'a mut DocumentMut, key: &str) -> Option<TablesMut<'a>> {
    match doc.get_mut(key)? {
        Item::ArrayOfTables(a) => Some(TablesMut::Aot(a)),
        Item::Value(Value::Array(a)) => Some(TablesMut::Inline(a)),
        _ => None,
    }
}

impl<'a> Tables<'a> {
    pub(super) fn len(&self) -> usize {
        match self {
            Tables::Aot(a) => a.len(),
            Tables::Inline(a) => a.len(),
        }
    }

    pub(super) fn get(&self, i: usize) -> Option<&'a dyn TableLike> {
        match *self {
            Tables::Aot(a) => a.get(i).map(|t| t as &dyn TableLike),
            Tables::Inline(a) => a
                .get(i)
                .and_then(Value::as_inline_table)
                .map(|t| t as &dyn TableLike),
        }
    }

    /// The index of the first table whose string `field`, normalised by `norm`,
    /// is `wanted`.
    pub(super) fn find(
        &self,
        field: &str,
        norm: fn(&str) -> Option<String>,
        wanted: &str,
    ) -> Option<usize> {
        (0..self.len()).find(|&i| {
            self.get(i)
                .and_then(|t| t.get(field))
                .and_then(Item::as_str)
                .and_then(norm)
                .as_deref()
                == Some(wanted)
        })
    }
}

impl TablesMut<'_> {
    /// The same tables, read-only.
    pub(super) fn shared(&self) -> Tables<'_> {
        match self {
            TablesMut::Aot(a) => Tables::Aot(a),
            TablesMut::Inline(a) => Tables::Inline(a),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.shared().len()
    }

    pub(super) fn get_mut(&mut self, i: usize) -> Option<&mut dyn TableLike> {
        match self {
            TablesMut::Aot(a) => a.get_mut(i).map(|t| t as &mut dyn TableLike),
            TablesMut::Inline(a) => a
                .get_mut(i)
                .and_then(Value::as_inline_table_mut)
                .map(|t| t as &mut dyn TableLike),
        }
    }

    pub(super) fn remove(&mut self, i: usize) {
        match self {
            TablesMut::Aot(a) => {
                a.remove(i);
            }
            TablesMut::Inline(a) => {
                a.remove(i);
            }
        }
    }
}

/// Appends an entry to an array of tables (creating `[[key]]` when absent), with the
/// key indentation of the existing entries.
pub(super) fn push_table(doc: &mut DocumentMut, key: &str, values: Vec<(&str, Value)>) {
    match doc.get_mut(key) {
        Some(Item::Value(Value::Array(array))) => {
            let mut table = InlineTable::new();
            for (k, v) in values {
                table.insert(k, v);
            }
            array.push(table);
        }
        Some(Item::ArrayOfTables(aot)) => {
            let indent = aot
                .get(0)
                .and_then(|t| t.iter().next().and_then(|(k, _)| t.key(k)))
                .and_then(|k| k.leaf_decor().prefix())
                .and_then(|p| p.as_str())
                .map(indent_like)
                .unwrap_or_default();
            aot.push(table_of(values, &indent));
        }
        _ => {
            // Pack indents the keys of [[...]] entries by two spaces; follow the file
            // when it has other entries, else pack.
            let indent = pack_style_indent(doc);
            let mut table = table_of(values, &indent);
            separate_new_table(doc, &mut table);
            let mut aot = ArrayOfTables::new();
            aot.push(table);
            doc.insert(key, Item::ArrayOfTables(aot));
        }
    }
}

/// A table added to a file that has other content starts after a blank line.
pub(super) fn separate_new_table(doc: &DocumentMut, table: &mut Table) {
    if !doc.is_empty() {
        table.decor_mut().set_prefix("\n");
    }
}

fn table_of(values: Vec<(&str, Value)>, indent: &str) -> Table {
    let mut table = Table::new();
    for (k, v) in values {
        table.insert(k, Item::Value(v));
        if !indent.is_empty()
            && let Some(mut key) = table.key_mut(k)
        {
            key.leaf_decor_mut().set_prefix(indent);
        }
    }
    table
}

/// The indentation of keys inside tables elsewhere in the file (pack writes two
/// spaces); none when the file has no tables with keys.
fn pack_style_indent(doc: &DocumentMut) -> String {
    for (_, item) in doc.iter() {
        let table: Option<&Table> = match item {
            Item::Table(t) => Some(t),
            Item::ArrayOfTables(a) => a.get(0),
            _ => None,
        };
        if let Some(t) = table
            && let Some((k, _)) = t.iter().next()
            && let Some(prefix) = t
                .key(k)
                .and_then(|k| k.leaf_decor().prefix())
                .and_then(|p| p.as_str())
        {
            return indent_like(prefix);
        }
    }
    String::new()
}
