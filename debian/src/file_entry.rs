//! One path of a file tree, as a tar member holds it: what a `.deb`'s data archive is made
//! of, and what an image layer is made of (the images crate writes layers of these).

/// What one path of a tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Directory,
    File(Vec<u8>),
    Symlink(String),
    /// Another path of the same tree, relative to the root: the same file under a second
    /// name (a package's hard link).
    HardLink(String),
}

/// One path of a tree, relative to its root (no leading `/`), with its mode and owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}
