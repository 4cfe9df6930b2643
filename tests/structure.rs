//! The shape of `src/`, as issue 10 asks for it: top-level modules import each other
//! without cycles (except `cli` and `completion`, which describe one command line
//! together), and no file has more than 800 lines of code outside its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The one pair of modules allowed to import each other.
const ALLOWED_CYCLE: [&str; 2] = ["cli", "completion"];
/// The most lines of non-test code a source file may have.
const MAX_CODE_LINES: usize = 800;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The lines of a file that are code, not tests: a `tests.rs` or `<name>_tests.rs` file
/// (a test module kept in a file of its own) has none, and a
/// `#[cfg(test)]` module at the top level ends where its closing `}` starts a line.
fn code_lines(path: &Path) -> Vec<String> {
    let test_file = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "tests.rs" || n.ends_with("_tests.rs"));
    if test_file {
        return Vec::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let test_module = line.starts_with("#[cfg(test)]")
            && lines.peek().is_some_and(|next| {
                next.starts_with("mod ") || next.starts_with("pub(crate) mod ")
            });
        if test_module {
            if lines.peek().is_some_and(|next| next.ends_with(';')) {
                lines.next();
                continue;
            }
            for inner in lines.by_ref() {
                if inner == "}" {
                    break;
                }
            }
            continue;
        }
        out.push(line.to_string());
    }
    out
}

/// The top-level module a file under `src/` belongs to (`registry/probe.rs` -> `registry`).
fn top_module(path: &Path) -> String {
    let relative = path.strip_prefix(src_dir()).unwrap();
    let first = relative.components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The top-level modules named after `crate::` in code (comments left out):
/// `crate::registry::X` and each name in `crate::{a, b::c}`.
fn imported_modules(lines: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in lines {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(name);
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.insert(name);
            }
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// Which top-level module imports which, from the code of every file.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in rust_files(&src_dir()) {
        let module = top_module(&path);
        if module == "lib" || module == "main" {
            continue;
        }
        let imports = imported_modules(&code_lines(&path));
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(imports.into_iter().filter(|m| *m != module));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for imports in graph.values_mut() {
        imports.retain(|m| modules.contains(m));
    }
    graph
}

/// Whether `from -> to` is one of the allowed pair's imports.
fn is_allowed(from: &str, to: &str) -> bool {
    let [a, b] = ALLOWED_CYCLE;
    (from == a && to == b) || (from == b && to == a)
}

/// Whether `to` can be reached from `from` without the allowed pair's imports (so a
/// cycle through them and a third module is still found).
fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(module) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if is_allowed(&module, next) {
                continue;
            }
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let graph = import_graph();
    assert!(
        graph.contains_key("registry") && graph.contains_key("cli"),
        "{graph:?}"
    );
    let cycles: Vec<String> = graph
        .iter()
        .flat_map(|(module, imports)| {
            imports
                .iter()
                .filter(|next| !is_allowed(module, next) && reaches(&graph, next, module))
                .map(move |next| format!("{module} -> {next} -> ... -> {module}"))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles between top-level modules (only cli <-> completion may import each other):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn no_file_has_more_than_800_lines_of_code_outside_its_tests() {
    let too_long: Vec<String> = rust_files(&src_dir())
        .iter()
        .map(|path| (path, code_lines(path).len()))
        .filter(|(_, n)| *n > MAX_CODE_LINES)
        .map(|(path, n)| format!("{}: {n} lines", path.display()))
        .collect();
    assert!(
        too_long.is_empty(),
        "split these files (tests may move to a sibling tests.rs):\n{}",
        too_long.join("\n")
    );
}
