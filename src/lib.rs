//! cnb: a pack-style Cloud Native Buildpacks CLI.
//!
//! Layout, from the outside in (DEVELOPERS.md maps each SPEC section to these modules):
//! - [`cli`]: the clap definition (help text lives there) and its value parsers, no logic;
//! - [`app`]: parses, builds the [`ui::Ui`], dispatches to [`commands`], prints errors and picks exit codes;
//! - [`commands`]: one module per top-level command; `cnb build`'s orchestration lives in
//!   [`commands::build`];
//! - [`settings`]: flag > env > file > default, resolved once;
//! - [`config`]: the TOML config file (location, typed view, comment-keeping edits, locking, atomic writes);
//! - [`reference`](mod@reference): image references, registries, mirrors, insecure entries (pure parsing and matching);
//! - [`registry`] and [`credentials`]: the resolution engine (concurrent mirror probes with oci-client);
//! - [`lifecycle`]: builder metadata, platform API, run-image order, the lifecycle containers' specs (pure);
//! - [`docker`]: everything that talks to the Docker daemon (bollard);
//! - [`local_registry`]: the dev cluster's registry (KEP-1755) for `--local-registry`;
//! - [`ui`], [`error`], [`env_vars`], [`secret`], [`completion`], [`interrupt`], [`hex`]: output,
//!   errors, environment names, how secrets are shown, shell completion, stop signals, digests
//!   in hex;
//! - [`proxy`], [`ca`] and [`project`]: behind a corporate network (SPEC §9): HTTP proxies,
//!   private CAs per registry, and the app's `project.toml`.
//!
//! Modules import each other without cycles, except [`cli`] and [`completion`]
//! (tests/structure.rs checks it).

// The module docs link to private modules on purpose: they are read with
// `cargo doc --document-private-items`, the map of the code for its developers.
#![allow(rustdoc::private_intra_doc_links)]

pub mod app;
pub mod ca;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod config;
pub mod credentials;
pub mod docker;
pub mod env_vars;
pub mod error;
pub mod hex;
pub mod interrupt;
pub mod lifecycle;
pub mod local_registry;
pub mod project;
pub mod proxy;
pub mod reference;
pub mod registry;
pub mod secret;
pub mod settings;
pub mod text;
pub mod ui;
