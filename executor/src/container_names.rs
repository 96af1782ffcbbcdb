//! What cairn names a container on a host, for Docker: the planner, the rollouts, image
//! pruning and the actions all ask here, so a name is spelled in one place.

use crate::host_paths::HostPaths;

/// The Docker name of a container. Hosts with a root prefix are sandboxes that share one
/// Docker engine, so their containers carry the host's name too.
pub fn docker_name(container: &str, host: &str, paths: &HostPaths) -> String {
    format!("{}{container}", docker_prefix(host, paths))
}

/// What comes before a container's name in Docker's: nothing on a host of its own,
/// `<host>-` on a sandbox. Scripts of modules (a health check's `docker exec`) get it as
/// `CAIRN_CONTAINER_PREFIX`.
pub fn docker_prefix(host: &str, paths: &HostPaths) -> String {
    if paths.root().is_empty() {
        String::new()
    } else {
        format!("{host}-")
    }
}

/// What the container replaced is kept as, stopped, until the next replacement: the
/// container a failed rollout puts back (`docker_name.previous`).
pub fn previous_name(docker_name: &str) -> String {
    format!("{docker_name}{PREVIOUS_SUFFIX}")
}

const PREVIOUS_SUFFIX: &str = ".previous";
