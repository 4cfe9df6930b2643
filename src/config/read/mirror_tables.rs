//! `[registry-mirrors]` and `[registry-mirror-lists]` read together (docs/configuration.md,
//! "What pack sees"): each entry checked, the entry that counts for each registry, and
//! the lists checked against what pack reads.

use std::collections::HashMap;
use std::ops::Range;

use toml_edit::{Item, Key};

use super::{ConfigError, ConfigWarning, Spanned, Validator, describe, keys, line_column};
use crate::config::model::RegistryMirrors;
use crate::reference::{Mirror, MirrorKey};

/// One entry of `[registry-mirrors]` or `[registry-mirror-lists]`, checked.
struct MirrorEntry<'i> {
    /// The key as written.
    name: &'i str,
    key: MirrorKey,
    name_span: Option<Range<usize>>,
    first_span: Option<Range<usize>>,
    is_array: bool,
    /// Duplicates removed, parallel to `written`.
    mirrors: Vec<Mirror>,
    written: Vec<String>,
}

/// Where one registry's entries are in `[registry-mirrors]` and `[registry-mirror-lists]`.
#[derive(Default)]
struct Places {
    /// Its first entry in `[registry-mirrors]`.
    first: Option<usize>,
    /// Its other entries there, in file order (a file pack wrote may have them).
    others: Vec<usize>,
    /// The entry there that counts, once known (see [`Validator::winner`]).
    winner: Option<usize>,
    /// Its list.
    list: Option<usize>,
}

impl MirrorEntry<'_> {
    /// Its mirrors and how they are written, moved out (each entry gives them once).
    fn take_mirrors(&mut self) -> (Vec<Mirror>, Vec<String>) {
        (
            std::mem::take(&mut self.mirrors),
            std::mem::take(&mut self.written),
        )
    }

    /// Its key, moved out (each entry that counts gives it once).
    fn take_key(&mut self) -> MirrorKey {
        std::mem::replace(&mut self.key, MirrorKey::Any)
    }
}

impl Validator<'_> {
    /// The entries of `[registry-mirrors]` (pack's table: a string per registry, or
    /// cnb's older array form) or of `[registry-mirror-lists]` (`lists`: cnb's ordered
    /// lists, arrays only), checked value by value.
    fn mirror_entries<'i>(
        &self,
        key: &Key,
        item: &'i Item,
        lists: bool,
    ) -> Result<Vec<MirrorEntry<'i>>, ConfigError> {
        let section = if lists {
            keys::REGISTRY_MIRROR_LISTS
        } else {
            keys::REGISTRY_MIRRORS
        };
        let table = item.as_table_like().ok_or_else(|| {
            self.err(
                Self::span_of(item, Some(key)),
                format!("expected a table for {section}, found {}", describe(item)),
            )
        })?;
        let mut entries = Vec::with_capacity(table.len());
        for (name, value) in table.iter() {
            let name_key = table.key(name);
            let name_span = name_key.and_then(|k| k.span());
            let parsed = MirrorKey::parse(name);
            // Put into words only for an error: a read checks every entry.
            let what = MirrorsOf {
                name,
                section: lists.then_some(section),
            };
            let values: Vec<Spanned<&str>> = match value.as_str() {
                Some(s) if !lists => vec![(s, Self::span_of(value, name_key))],
                _ if value.is_array() => self.strings(value, name_key, what)?,
                _ => {
                    let expected = if lists {
                        "an array of strings"
                    } else {
                        "a string or an array of strings"
                    };
                    return Err(self.err(
                        Self::span_of(value, name_key),
                        format!("expected {expected} for {what}, found {}", describe(value)),
                    ));
                }
            };
            let key = parsed.map_err(|e| self.err(name_span.clone(), e.to_string()))?;
            let mut mirrors: Vec<Mirror> = Vec::with_capacity(values.len());
            let mut written = Vec::with_capacity(values.len());
            let mut first_span = None;
            for (s, span) in values {
                let mirror = Mirror::parse(s).map_err(|e| self.err(span.clone(), e.to_string()))?;
                if let MirrorKey::Registry(registry) = &key
                    && mirror.is_same_as(registry)
                {
                    return Err(self.err(
                        span,
                        format!(
                            "registry mirror '{s}' is the registry '{key}' itself; a mirror must be another address"
                        ),
                    ));
                }
                if first_span.is_none() {
                    first_span = span;
                }
                if !mirrors.iter().any(|m| m.same_url(&mirror)) {
                    mirrors.push(mirror);
                    written.push(s.to_string());
                }
            }
            entries.push(MirrorEntry {
                name,
                key,
                name_span,
                first_span,
                is_array: value.is_array(),
                mirrors,
                written,
            });
        }
        Ok(entries)
    }

    /// `[registry-mirrors]` and `[registry-mirror-lists]` together (docs/configuration.md,
    /// "What pack sees"): a registry with a list in
    /// `[registry-mirror-lists]` has those mirrors, and its entry in `[registry-mirrors]`
    /// (what pack reads) must be the list's first mirror; other registries have the
    /// mirror (or the array, cnb's older form) of `[registry-mirrors]`.
    ///
    /// pack keeps keys as they are written, so a file pack wrote may name one registry
    /// twice (`docker.io` and `index.docker.io`): the key written in cnb's stored form
    /// wins, as it does for pack, which looks registries up by that spelling; the
    /// others are reported in
    /// [`ConfigFile::warnings`](crate::config::ConfigFile::warnings). Without such a
    /// key, two names for one registry are an error.
    pub(super) fn registry_mirrors(
        &mut self,
        table: Option<(&Key, &Item)>,
        lists: Option<(&Key, &Item)>,
    ) -> Result<(), ConfigError> {
        let pack = match table {
            Some((key, item)) => self.mirror_entries(key, item, false)?,
            None => Vec::new(),
        };
        let lists = match lists {
            Some((key, item)) => self.mirror_entries(key, item, true)?,
            None => Vec::new(),
        };
        // pack reads one string per registry, in its form (no scheme, normalised).
        self.file.written.pack_cannot_use = pack.iter().any(|entry| {
            entry.is_array
                || entry
                    .mirrors
                    .first()
                    .is_some_and(|m| m.pack_form() != entry.written[0])
        });
        // Where each registry's entries are in the two tables.
        let mut places: HashMap<&MirrorKey, Places> =
            HashMap::with_capacity(pack.len() + lists.len());
        for (i, entry) in pack.iter().enumerate() {
            let place = places.entry(&entry.key).or_default();
            match place.first {
                None => place.first = Some(i),
                Some(_) => place.others.push(i),
            }
        }
        for (l, list) in lists.iter().enumerate() {
            if places
                .entry(&list.key)
                .or_default()
                .list
                .replace(l)
                .is_some()
            {
                return Err(self.two_entries(
                    list.name_span.clone(),
                    &list.key,
                    keys::REGISTRY_MIRROR_LISTS,
                ));
            }
        }
        // Which entries give the registries their mirrors, in file order: each winning
        // entry of pack's table (its list's mirrors when it has one), then the lists
        // without an entry there: empty ones ("no mirrors"; check_list refuses the others).
        let mut chosen: Vec<(usize, Option<usize>)> = Vec::with_capacity(pack.len());
        for (i, entry) in pack.iter().enumerate() {
            let Some(place) = places.get_mut(&entry.key) else {
                continue;
            };
            let winner = match place.winner {
                Some(w) => w,
                // The registry's first entry: the others come later in the file.
                None => *place.winner.insert(self.winner(&pack, i, &place.others)?),
            };
            if winner == i {
                chosen.push((i, place.list));
            } else {
                self.shadowed(entry);
            }
        }
        let mut alone = Vec::new();
        for (l, list) in lists.iter().enumerate() {
            let winner = places.get(&list.key).and_then(|p| p.winner);
            self.check_list(list, winner.map(|i| &pack[i]))?;
            if winner.is_none() {
                alone.push(l);
            }
        }
        drop(places);
        let (mut pack, mut lists) = (pack, lists);
        for (i, list) in chosen {
            let (mirrors, written) = match list {
                Some(l) => lists[l].take_mirrors(),
                None => pack[i].take_mirrors(),
            };
            let entry = &mut pack[i];
            self.push_mirrors(entry.take_key(), entry.name, mirrors, written);
        }
        for l in alone {
            let list = &mut lists[l];
            let (mirrors, written) = list.take_mirrors();
            self.push_mirrors(list.take_key(), list.name, mirrors, written);
        }
        Ok(())
    }

    /// The entry of pack's table that counts for the registry of entry `first`, whose
    /// other entries are `others`: its only one, or of several, the one whose key is
    /// written in cnb's stored form, as for pack, which looks registries up by that
    /// spelling. Without such a key, the names are an error.
    fn winner(
        &self,
        pack: &[MirrorEntry],
        first: usize,
        others: &[usize],
    ) -> Result<usize, ConfigError> {
        let Some(&second) = others.first() else {
            return Ok(first);
        };
        let stored = pack[first].key.key();
        let mut all = std::iter::once(first).chain(others.iter().copied());
        all.find(|&j| pack[j].name == stored).ok_or_else(|| {
            self.two_entries(
                pack[second].name_span.clone(),
                &pack[first].key,
                keys::REGISTRY_MIRRORS,
            )
        })
    }

    /// The error for a second entry of `key` in `[section]`, at `span`.
    fn two_entries(
        &self,
        span: Option<Range<usize>>,
        key: &MirrorKey,
        section: &str,
    ) -> ConfigError {
        self.err(
            span,
            format!("registry '{key}' has two entries in [{section}]; merge them into one"),
        )
    }

    /// Reports an entry of pack's table that another one for the same registry shadows.
    fn shadowed(&mut self, entry: &MirrorEntry) {
        let (line, _) = entry
            .name_span
            .as_ref()
            .map_or((1, 1), |s| line_column(self.text, s.start));
        self.file.warnings.push(ConfigWarning::ShadowedEntry {
            path: self.path.to_path_buf(),
            line,
            name: entry.name.to_string(),
            winner: entry.key.key(),
            registry: entry.key.to_string(),
        });
    }

    /// A list in `[registry-mirror-lists]` must agree with what pack reads for that
    /// registry in `[registry-mirrors]`: its first mirror, or no entry when it is empty.
    fn check_list(
        &self,
        list: &MirrorEntry,
        pack: Option<&MirrorEntry>,
    ) -> Result<(), ConfigError> {
        let (lists, table) = (keys::REGISTRY_MIRROR_LISTS, keys::REGISTRY_MIRRORS);
        let name = list.name;
        match (list.mirrors.first(), pack) {
            (None, None) => Ok(()),
            (Some(_), None) => Err(self.err(
                list.name_span.clone(),
                format!(
                    "'{name}' has a list in [{lists}] but no entry in [{table}], where pack reads its first mirror; add \"{name}\" = \"{}\" to [{table}] or remove the list",
                    list.mirrors[0].pack_form()
                ),
            )),
            (_, Some(entry)) if entry.is_array => Err(self.err(
                entry.name_span.clone(),
                format!(
                    "'{name}' has an array in [{table}] and a list in [{lists}]; keep the list, and only its first mirror as a string in [{table}]"
                ),
            )),
            (None, Some(entry)) => Err(self.err(
                list.name_span.clone(),
                format!(
                    "'{name}' has an empty list in [{lists}] (no mirrors), but [{table}] gives it '{}'; remove one of them",
                    entry.written[0]
                ),
            )),
            (Some(first), Some(entry))
                if !entry.mirrors.first().is_some_and(|m| m.same_address(first)) =>
            {
                Err(self.err(
                    list.first_span.clone(),
                    format!(
                        "the list of '{name}' in [{lists}] starts with '{}', but [{table}] gives it '{}', the mirror pack uses; make the list start with that mirror (a scheme may differ), or remove the list",
                        list.written[0], entry.written[0]
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    fn push_mirrors(
        &mut self,
        key: MirrorKey,
        name: &str,
        mirrors: Vec<Mirror>,
        written: Vec<String>,
    ) {
        self.file
            .config
            .registry_mirrors
            .push(RegistryMirrors { key, mirrors });
        self.file
            .written
            .registry_mirrors
            .push((name.to_string(), written));
    }
}

/// `the mirrors of 'NAME'` (in `[SECTION]`), as error messages name an entry.
#[derive(Clone, Copy)]
struct MirrorsOf<'a> {
    name: &'a str,
    section: Option<&'a str>,
}

impl std::fmt::Display for MirrorsOf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the mirrors of '{}'", self.name)?;
        match self.section {
            Some(section) => write!(f, " in [{section}]"),
            None => Ok(()),
        }
    }
}
