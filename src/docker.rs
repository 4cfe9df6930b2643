//! Everything that talks to the Docker daemon, through bollard: connection and API
//! negotiation, image inspect/pull/tag/remove/load, volumes, and running the
//! lifecycle container from a [`crate::lifecycle::ContainerSpec`].
