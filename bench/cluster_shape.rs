//! The shapes of cluster the compile and diff benchmarks generate, chosen with
//! `CAIRN_BENCH_SHAPES` (comma-separated; default `dcos-ha,generated`): `dcos-ha`, the
//! example's hosts cloned (`dcos_ha_cluster.rs`: every module, pinned images and
//! packages), and `generated`, the lighter cluster of earlier figures
//! (`generated_cluster.rs`). Each writes its spec into a folder of its own and says what a
//! compile starts from, so that both benchmarks compile each shape the same way.

use std::path::{Path, PathBuf};

use crate::{dcos_ha_cluster, generated_cluster};

/// One shape of generated cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterShape {
    /// The dcos-ha example's hosts cloned.
    DcosHa,
    /// The lighter generated cluster: ZooKeeper, HAProxy, Keepalived, the console, and
    /// otherwise plain hosts.
    Generated,
}

impl ClusterShape {
    /// The shapes `CAIRN_BENCH_SHAPES` names, in its order; both, dcos-ha first, where it
    /// is unset. Panics at a name that is no shape, before anything is generated.
    pub fn from_environment() -> Vec<Self> {
        std::env::var("CAIRN_BENCH_SHAPES")
            .unwrap_or_else(|_| "dcos-ha,generated".to_string())
            .split(',')
            .map(|name| Self::named(name.trim()))
            .collect()
    }

    /// The shape called `name`, as `CAIRN_BENCH_SHAPES` and the printed tables call it.
    fn named(name: &str) -> Self {
        match name {
            "dcos-ha" => Self::DcosHa,
            "generated" => Self::Generated,
            other => panic!("unknown shape `{other}`: dcos-ha or generated"),
        }
    }

    /// The shape's name, as `CAIRN_BENCH_SHAPES` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::DcosHa => "dcos-ha",
            Self::Generated => "generated",
        }
    }

    /// Writes the shape's spec of `hosts` hosts into `folder`, with the modules, secrets
    /// and (dcos-ha) lockfile it needs.
    pub fn write_cluster(self, folder: &Path, hosts: usize) {
        match self {
            Self::DcosHa => dcos_ha_cluster::write_cluster(folder, hosts),
            Self::Generated => generated_cluster::write_cluster(folder, hosts),
        }
    }

    /// The folder inside `folder` that holds the spec, `cluster.toml`: where `cairn
    /// compile` runs and writes `cluster.lock`.
    pub fn spec_folder(self, folder: &Path) -> PathBuf {
        match self {
            Self::DcosHa => dcos_ha_cluster::spec_folder(folder),
            Self::Generated => folder.to_path_buf(),
        }
    }

    /// Lays beside the spec the lockfile a compile starts from, so every compile of a
    /// shape starts alike: the example's for dcos-ha (its pins kept: nothing is fetched),
    /// none for the generated cluster (which pins no package).
    pub fn ready_for_compile(self, folder: &Path) {
        match self {
            Self::DcosHa => dcos_ha_cluster::restore_previous_lockfile(folder),
            Self::Generated => {
                let _ = std::fs::remove_file(self.spec_folder(folder).join("cluster.lock"));
            }
        }
    }
}
