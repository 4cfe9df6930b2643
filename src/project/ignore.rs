//! `build.include` / `build.exclude` of `project.toml`: gitignore-style patterns, matched
//! exactly as pack matches them (it uses github.com/sabhiram/go-gitignore): each pattern
//! becomes a regular expression by the same rewriting, and a path matches when the last
//! pattern that matches it is not negated (`!`).
//!
//! Some consequences of that library, kept so that an app uploads the same files with cnb
//! as with pack: a pattern without `/` matches at any depth (`secret` matches
//! `a/secret/x`); a pattern matches everything under what it names; `?` matches only a
//! literal `?`; `#` starts a comment.

use regex::{NoExpand, Regex};

/// Compiled patterns, with the lines they came from.
#[derive(Debug, Clone)]
pub struct Patterns {
    lines: Vec<String>,
    compiled: Vec<(Regex, bool)>,
}

impl PartialEq for Patterns {
    fn eq(&self, other: &Self) -> bool {
        self.lines == other.lines
    }
}

impl Eq for Patterns {}

impl Patterns {
    /// Compiles `lines`; a line that does not make a valid expression is an error naming it.
    pub fn new(lines: &[String]) -> Result<Patterns, String> {
        let mut compiled = Vec::new();
        for line in lines {
            if let Some(pattern) = pattern_of(line)? {
                compiled.push(pattern);
            }
        }
        Ok(Patterns {
            lines: lines.to_vec(),
            compiled,
        })
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub fn matches(&self, path: &str) -> bool {
        let mut matched = false;
        for (regex, negate) in &self.compiled {
            if regex.is_match(path) {
                if !negate {
                    matched = true;
                } else if matched {
                    matched = false;
                }
            }
        }
        matched
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }
}

/// go-gitignore's `getPatternFromLine`, step by step.
fn pattern_of(line: &str) -> Result<Option<(Regex, bool)>, String> {
    let fixed = |re: &str| Regex::new(re).expect("a fixed expression");
    let mut line = line.trim_end_matches('\r').to_string();
    if line.starts_with('#') {
        return Ok(None);
    }
    line = line.trim_matches(' ').to_string();
    if line.is_empty() {
        return Ok(None);
    }
    let mut negate = false;
    if line.starts_with('!') {
        negate = true;
        line.remove(0);
    }
    if line.starts_with('#') || line.starts_with('!') {
        line.remove(0);
    }
    if fixed(r"([^/+])/.*\*\.").is_match(&line) && !line.starts_with('/') {
        line.insert(0, '/');
    }
    line = fixed(r"\.")
        .replace_all(&line, NoExpand(r"\."))
        .into_owned();
    const MAGIC_STAR: &str = "#$~";
    if line.starts_with("/**/") {
        line.remove(0);
    }
    line = fixed(r"/\*\*/")
        .replace_all(&line, NoExpand("(/|/.+/)"))
        .into_owned();
    line = fixed(r"\*\*/")
        .replace_all(&line, NoExpand(&format!("(|.{MAGIC_STAR}/)")))
        .into_owned();
    line = fixed(r"/\*\*")
        .replace_all(&line, NoExpand(&format!("(|/.{MAGIC_STAR})")))
        .into_owned();
    line = fixed(r"\\\*")
        .replace_all(&line, NoExpand(&format!(r"\{MAGIC_STAR}")))
        .into_owned();
    line = fixed(r"\*")
        .replace_all(&line, NoExpand("([^/]*)"))
        .into_owned();
    line = line.replace('?', r"\?");
    line = line.replace(MAGIC_STAR, "*");
    let expr = if line.ends_with('/') {
        format!("{line}(|.*)$")
    } else {
        format!("{line}(|/.*)$")
    };
    let expr = match expr.strip_prefix('/') {
        Some(rest) => format!("^(|/){rest}"),
        None => format!("^(|.*/){expr}"),
    };
    match Regex::new(&expr) {
        Ok(regex) => Ok(Some((regex, negate))),
        Err(e) => Err(format!("the pattern '{line}' is not valid ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lines: &[&str]) -> Patterns {
        Patterns::new(&lines.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn names_match_at_any_depth_and_everything_under_them() {
        let pats = p(&["secret", "*.log", "/build/", "# comment", ""]);
        for yes in [
            "secret",
            "a/secret",
            "secret/key",
            "x.log",
            "d/x.log",
            "build/out",
        ] {
            assert!(pats.matches(yes), "{yes}");
        }
        // `dir/` matches what is under the directory, not the directory's own entry.
        for no in [
            "secrets",
            "log",
            "a/build/out",
            "x.logs",
            "comment",
            "build",
        ] {
            assert!(!pats.matches(no), "{no}");
        }
    }

    #[test]
    fn negation_and_double_stars() {
        let pats = p(&["docs", "!docs/keep.md"]);
        assert!(pats.matches("docs/drop.md"));
        assert!(!pats.matches("docs/keep.md"));
        let pats = p(&["**/tmp", "a/**/b", "src/*.txt"]);
        assert!(pats.matches("tmp"));
        assert!(pats.matches("x/y/tmp"));
        assert!(pats.matches("a/b"));
        assert!(pats.matches("a/x/y/b"));
        assert!(pats.matches("src/a.txt"));
        assert!(
            !pats.matches("other/src/a.txt"),
            "a slash anchors the pattern"
        );
        // go-gitignore reads `?` literally.
        let pats = p(&["a?c"]);
        assert!(pats.matches("a?c"));
        assert!(!pats.matches("abc"));
    }
}
