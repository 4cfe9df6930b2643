//! Local cluster registries (SPEC §10, KEP-1755): the registry a dev cluster (kind, k3d,
//! minikube, MicroK8s) declares in ConfigMap `kube-public/local-registry-hosting`.
//!
//! - [`hosting`]: the KEP's rules on the ConfigMap's data (pure).

pub mod hosting;
