//! One module per top-level command: glue between the CLI and the library modules.

pub mod build;
pub mod completion;
pub mod config;
pub mod local_registry;
pub mod registry_ca;
pub mod resolve;
