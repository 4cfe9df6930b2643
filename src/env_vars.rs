//! Every environment variable cnb reads or sets, named once.

/// Config file path (beats `CNB_HOME`).
pub const CNB_CONFIG: &str = "CNB_CONFIG";
/// Directory holding `config.toml`.
pub const CNB_HOME: &str = "CNB_HOME";
/// Any value turns colour off (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Docker daemon address, as the docker CLI reads it.
pub const DOCKER_HOST: &str = "DOCKER_HOST";
/// Directory holding the Docker client's `config.json` (credentials).
pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";
/// The kubeconfig files (a `:`-separated list), as kubectl reads it; else `~/.kube/config`.
pub const KUBECONFIG: &str = "KUBECONFIG";
/// OpenSSL's CA bundle and directory variables, honoured for registry TLS roots.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
/// Proxies for cnb's registry traffic and the lifecycle's (SPEC §9), read upper case
/// first, then lower case, and passed to the lifecycle's containers in both spellings.
pub const HTTP_PROXY: &str = "HTTP_PROXY";
pub const HTTP_PROXY_LOWER: &str = "http_proxy";
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
pub const HTTPS_PROXY_LOWER: &str = "https_proxy";
pub const NO_PROXY: &str = "NO_PROXY";
pub const NO_PROXY_LOWER: &str = "no_proxy";
/// Set by the shell when it asks cnb for completions (clap_complete's `CompleteEnv`).
pub const COMPLETE: &str = "COMPLETE";
/// Set by the bash, zsh and elvish completion scripts: the index of the word being completed.
pub const CLAP_COMPLETE_INDEX: &str = "_CLAP_COMPLETE_INDEX";
/// Set by the bash and zsh completion scripts: what separates candidates in cnb's answer.
pub const CLAP_IFS: &str = "_CLAP_IFS";
/// Set by cnb's bash completion script: the command line up to the cursor.
pub const CNB_COMPLETE_LINE: &str = "_CNB_COMPLETE_LINE";

/// Variables cnb sets in the lifecycle container (SPEC §7.7).
pub mod lifecycle {
    pub const CNB_PLATFORM_API: &str = "CNB_PLATFORM_API";
    pub const CNB_INSECURE_REGISTRIES: &str = "CNB_INSECURE_REGISTRIES";
    pub const CNB_REGISTRY_MIRRORS: &str = "CNB_REGISTRY_MIRRORS";
    pub const CNB_REGISTRY_AUTH: &str = "CNB_REGISTRY_AUTH";
    /// The API version the lifecycle's Docker client uses (daemon mode).
    pub const DOCKER_API_VERSION: &str = "DOCKER_API_VERSION";
    /// Read from the builder image's config.
    pub const CNB_USER_ID: &str = "CNB_USER_ID";
    pub const CNB_GROUP_ID: &str = "CNB_GROUP_ID";
    /// The roots the lifecycle's Go TLS stack reads besides its default bundle: cnb lists
    /// the default directories and the directory of the registry CAs it copies in.
    pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
}
