//! One module per top-level command: glue between the CLI and the library modules.

pub mod build;
pub mod completion;
pub mod config;
pub mod local_registry;
pub mod registry_ca;
pub mod resolve;

/// The async runtime for commands that do network or Docker work.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("could not start the async runtime: {e}"))
}
