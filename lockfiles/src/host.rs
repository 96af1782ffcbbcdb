/// A host as apply needs to reach it. Written into the lockfile so that apply needs nothing
/// but the lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    pub address: String,
    pub user: String,
    pub port: u16,
    /// Sorted, without duplicates.
    pub roles: Vec<String>,
}
