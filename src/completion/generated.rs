//! What is generated from the CLI definition and kept in the repository (SPEC §8): the
//! completion scripts under `completions/` and the man pages under `docs/man/`
//! (tests/generated.rs fails when they are stale).

use std::path::{Path, PathBuf};

use clap::{CommandFactory, ValueEnum};

use super::{COMPLETIONS_DIR, MAN_DIR, script, script_file_name};
use crate::cli::{Cli, Shell};
use crate::env_vars;

/// One man page per command and subcommand (`cnb.1`, `cnb-config.1`,
/// `cnb-config-registry-mirrors-add.1`, ...), rendered from the CLI definition.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    // Every page names the program, not the subcommand, as its source.
    let source = format!("cnb {}", cmd.get_version().unwrap_or_default());
    let mut pages = Vec::new();
    collect_man_pages(&cmd, &source, &mut pages);
    pages
}

fn collect_man_pages(cmd: &clap::Command, source: &str, pages: &mut Vec<(String, Vec<u8>)>) {
    let man = clap_mangen::Man::new(cmd.clone())
        .source(source)
        .manual("cnb manual");
    let mut page = Vec::new();
    man.render(&mut page).expect("writing to a Vec cannot fail");
    if pages.is_empty() {
        page = with_top_level_sections(page);
    }
    pages.push((man.get_filename(), page));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect_man_pages(sub, source, pages);
    }
}

/// ENVIRONMENT and FILES sections for `cnb.1`, before its VERSION section.
fn with_top_level_sections(page: Vec<u8>) -> Vec<u8> {
    use clap_mangen::roff::{Roff, bold, roman};

    let mut roff = Roff::new();
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, text) in [
        (env_vars::CNB_CONFIG, "Config file to use (--config wins)."),
        (
            env_vars::CNB_HOME,
            "Directory holding config.toml (CNB_CONFIG and --config win).",
        ),
        (env_vars::NO_COLOR, "Any value turns colour off."),
        (
            env_vars::DOCKER_HOST,
            "Docker daemon address (--docker-host wins).",
        ),
        (
            env_vars::DOCKER_CONFIG,
            "Directory holding the Docker client config.json, read for registry credentials.",
        ),
        (
            env_vars::COMPLETE,
            "Set by the completion scripts (see cnb-completion(1)): cnb prints completions instead of running.",
        ),
    ] {
        roff.control("TP", []);
        roff.text([bold(name)]);
        roff.text([roman(text)]);
    }
    roff.control("SH", ["FILES"]);
    roff.control("TP", []);
    roff.text([bold("~/.config/cnb/config.toml")]);
    roff.text([roman(
        "The config file on Linux when neither --config, CNB_CONFIG nor CNB_HOME says otherwise; \
         cnb config path prints the one in use.",
    )]);
    let extra = roff.to_roff();

    let text = String::from_utf8_lossy(&page).into_owned();
    match text.find("\n.SH VERSION") {
        Some(at) => format!("{}\n{}{}", &text[..at], extra.trim_end(), &text[at..]).into_bytes(),
        None => format!("{text}{extra}").into_bytes(),
    }
}

/// Every generated file kept in the repository: path relative to the
/// repository root, and contents.
pub fn generated_files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Shell::value_variants()
        .iter()
        .map(|shell| {
            (
                Path::new(COMPLETIONS_DIR).join(script_file_name(*shell)),
                script(*shell).into_bytes(),
            )
        })
        .collect();
    files.extend(
        man_pages()
            .into_iter()
            .map(|(name, page)| (Path::new(MAN_DIR).join(name), page)),
    );
    files
}
