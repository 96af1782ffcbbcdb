//! What an image needs of its packages' maintainer scripts, done by cairn, because the
//! builder unpacks packages without running them. Two sources:
//! - the effects of a few base packages' scripts every image relies on, known here:
//!   base-passwd's `/etc/passwd` and `/etc/group`, base-files' `/etc/profile`, root's dot
//!   files and folders, libc-bin's `/etc/nsswitch.conf`;
//! - what the image definition declares (`ImageSetup`): system users, the links
//!   `update-alternatives` would make, folders;
//!
//! and dpkg's own record, `/var/lib/dpkg/status`, so `dpkg -l` and image scanners see the
//! packages. All of it is one layer, on top of the packages'.

use cairn_debian::{EntryKind, FileEntry, Paragraph, ParagraphError, ParagraphWriter};
use cairn_lockfiles::ImageSetup;

use crate::image_builder::layer::Layer;

/// A package of the image, unpacked: its name, control paragraph, and a way to read the
/// files it shipped.
#[derive(Debug)]
pub struct InstalledPackage<'a> {
    pub name: &'a str,
    pub control: &'a str,
    /// Paths (relative to the root) of everything it shipped, in archive order.
    pub paths: Vec<&'a str>,
}

/// Why the setup layer could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "the image declares users, and its packages do not include base-passwd, whose `/etc/passwd` they are added to; add base-passwd to `[images] base_packages`"
    )]
    NoBasePasswd,
    #[error(
        "package {package} does not ship `{path}`, which cairn copies as its maintainer script does"
    )]
    Missing { package: String, path: String },
    #[error("package {package}'s control file is not one deb822 paragraph: {error}")]
    Control {
        package: String,
        error: ParagraphError,
    },
}

/// A file one package's maintainer script installs from a copy the package ships, when
/// the file is not there yet (`cp` in a postinst); the owner is root.
struct DefaultCopy {
    package: &'static str,
    shipped: &'static str,
    installed: &'static str,
    mode: u32,
}

const DEFAULT_COPIES: &[DefaultCopy] = &[
    DefaultCopy {
        package: "base-files",
        shipped: "usr/share/base-files/profile",
        installed: "etc/profile",
        mode: 0o644,
    },
    DefaultCopy {
        package: "base-files",
        shipped: "usr/share/base-files/dot.profile",
        installed: "root/.profile",
        mode: 0o644,
    },
    DefaultCopy {
        package: "base-files",
        shipped: "usr/share/base-files/dot.bashrc",
        installed: "root/.bashrc",
        mode: 0o644,
    },
    DefaultCopy {
        package: "libc-bin",
        shipped: "usr/share/libc-bin/nsswitch.conf",
        installed: "etc/nsswitch.conf",
        mode: 0o644,
    },
];

/// Folders base-files' postinst makes: path, mode, group id (the `mail` group is 8 in
/// base-passwd).
const BASE_FILES_DIRECTORIES: &[(&str, u32, u64)] = &[
    ("etc/opt", 0o755, 0),
    ("media", 0o755, 0),
    ("mnt", 0o755, 0),
    ("opt", 0o755, 0),
    ("run/lock", 0o1777, 0),
    ("srv", 0o755, 0),
    ("var/mail", 0o2775, 8),
    ("var/opt", 0o755, 0),
];

/// The setup layer of an image whose packages are `packages` (sorted by name); `read`
/// gives the content of a file the packages shipped.
pub fn setup_layer<'a>(
    packages: &[InstalledPackage<'a>],
    setup: &ImageSetup,
    read: impl Fn(&str) -> Option<&'a [u8]>,
) -> Result<Layer, SetupError> {
    let mut layer = Layer::new();
    let has = |name: &str| packages.iter().any(|package| package.name == name);
    if has("base-passwd") {
        insert_users_and_groups(&mut layer, setup, &read)?;
    } else if !setup.users.is_empty() {
        return Err(SetupError::NoBasePasswd);
    }
    insert_base_script_effects(&mut layer, &has, &read)?;
    insert_declared_links_and_directories(&mut layer, setup);
    insert_dpkg_records(&mut layer, packages)?;
    Ok(layer)
}

/// A file owned by root.
fn root_file(content: Vec<u8>, mode: u32) -> FileEntry {
    FileEntry {
        kind: EntryKind::File(content),
        mode,
        uid: 0,
        gid: 0,
    }
}

/// `/etc/passwd` and `/etc/group` as base-passwd's postinst makes them from its masters,
/// with the image's declared users (each with a group of the same name and id) after.
fn insert_users_and_groups<'a>(
    layer: &mut Layer,
    setup: &ImageSetup,
    read: &impl Fn(&str) -> Option<&'a [u8]>,
) -> Result<(), SetupError> {
    let master = |path: &str| {
        read(path).ok_or_else(|| SetupError::Missing {
            package: "base-passwd".to_string(),
            path: path.to_string(),
        })
    };
    let mut passwd = master("usr/share/base-passwd/passwd.master")?.to_vec();
    let mut group = master("usr/share/base-passwd/group.master")?.to_vec();
    for user in &setup.users {
        passwd.extend_from_slice(
            format!(
                "{name}:x:{id}:{id}::{home}:/usr/sbin/nologin\n",
                name = user.name,
                id = user.id,
                home = user.home
            )
            .as_bytes(),
        );
        group.extend_from_slice(format!("{}:x:{}:\n", user.name, user.id).as_bytes());
    }
    layer.insert("etc/passwd", root_file(passwd, 0o644));
    layer.insert("etc/group", root_file(group, 0o644));
    Ok(())
}

/// What base-files' and libc-bin's postinsts make, for those of them the image has
/// (`has`): the [`DEFAULT_COPIES`] of their shipped files, and base-files' folders.
fn insert_base_script_effects<'a>(
    layer: &mut Layer,
    has: &impl Fn(&str) -> bool,
    read: &impl Fn(&str) -> Option<&'a [u8]>,
) -> Result<(), SetupError> {
    for copy in DEFAULT_COPIES.iter().filter(|copy| has(copy.package)) {
        let content = read(copy.shipped).ok_or_else(|| SetupError::Missing {
            package: copy.package.to_string(),
            path: copy.shipped.to_string(),
        })?;
        layer.insert(copy.installed, root_file(content.to_vec(), copy.mode));
    }
    if has("base-files") {
        for (path, mode, gid) in BASE_FILES_DIRECTORIES {
            layer.insert(
                path,
                FileEntry {
                    kind: EntryKind::Directory,
                    mode: *mode,
                    uid: 0,
                    gid: *gid,
                },
            );
        }
    }
    Ok(())
}

/// What the image declares instead of its packages' scripts: the links
/// `update-alternatives` would make, and folders, each owned by its declared user (root
/// when the owner is no declared user).
fn insert_declared_links_and_directories(layer: &mut Layer, setup: &ImageSetup) {
    for link in &setup.links {
        layer.insert(
            &link.path,
            FileEntry {
                kind: EntryKind::Symlink(link.target.clone()),
                mode: 0o777,
                uid: 0,
                gid: 0,
            },
        );
    }
    for directory in &setup.directories {
        let id = u64::from(setup.owner_id(&directory.owner).unwrap_or(0));
        layer.insert(
            &directory.path,
            FileEntry {
                kind: EntryKind::Directory,
                mode: directory.mode,
                uid: id,
                gid: id,
            },
        );
    }
}

/// dpkg's own record of the packages: each one's file list in `/var/lib/dpkg/info` and
/// its paragraph in `/var/lib/dpkg/status`, so `dpkg -l` and image scanners see them.
fn insert_dpkg_records(
    layer: &mut Layer,
    packages: &[InstalledPackage<'_>],
) -> Result<(), SetupError> {
    let mut status = String::new();
    for package in packages {
        let control = Paragraph::parse(package.control).map_err(|error| SetupError::Control {
            package: package.name.to_string(),
            error,
        })?;
        status.push_str(&status_paragraph(&control));
        status.push('\n');
        let mut list = String::from("/.\n");
        for path in &package.paths {
            list.push('/');
            list.push_str(path);
            list.push('\n');
        }
        layer.insert(
            &format!(
                "var/lib/dpkg/info/{}.list",
                list_name(package.name, &control)
            ),
            root_file(list.into_bytes(), 0o644),
        );
    }
    if !packages.is_empty() {
        layer.insert("var/lib/dpkg/status", root_file(status.into_bytes(), 0o644));
    }
    Ok(())
}

/// The package's paragraph as dpkg's status file has it: `Status: install ok installed`
/// after `Package`.
fn status_paragraph(control: &Paragraph<'_>) -> String {
    let mut paragraph = ParagraphWriter::new();
    for field in control.fields() {
        paragraph.field_as_read(field);
        if field.is("Package") {
            paragraph.field("Status", "install ok installed");
        }
    }
    paragraph.finish()
}

/// dpkg names a `Multi-Arch: same` package's files `name:arch.list`.
fn list_name(name: &str, control: &Paragraph<'_>) -> String {
    match (control.value("Multi-Arch"), control.value("Architecture")) {
        (Some(multi_arch), Some(architecture)) if multi_arch == "same" => {
            format!("{name}:{architecture}")
        }
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use cairn_lockfiles::{ImageDirectory, ImageLink, ImageUser};

    use super::*;

    fn entries(layer: &Layer) -> BTreeMap<String, FileEntry> {
        layer
            .entries()
            .map(|(path, entry)| (path.to_string(), entry.clone()))
            .collect()
    }

    fn text(layer: &Layer, path: &str) -> String {
        match &entries(layer)[path].kind {
            EntryKind::File(content) => String::from_utf8(content.clone()).unwrap(),
            other => panic!("{path} is {other:?}"),
        }
    }

    #[test]
    fn users_join_base_passwds_masters_and_folders_take_their_owner() {
        let packages = [InstalledPackage {
            name: "base-passwd",
            control: "Package: base-passwd\nVersion: 3.6.1\nArchitecture: amd64\n",
            paths: vec!["usr/share/base-passwd/passwd.master"],
        }];
        let setup = ImageSetup {
            users: vec![ImageUser {
                name: "mysql".to_string(),
                id: 999,
                home: "/nonexistent".to_string(),
            }],
            links: vec![ImageLink {
                path: "/etc/mysql/my.cnf".to_string(),
                target: "/etc/mysql/mariadb.cnf".to_string(),
            }],
            directories: vec![ImageDirectory {
                path: "/run/mysqld".to_string(),
                owner: "mysql".to_string(),
                mode: 0o755,
            }],
        };
        let read = |path: &str| -> Option<&'static [u8]> {
            match path {
                "usr/share/base-passwd/passwd.master" => Some(b"root:x:0:0:root:/root:/bin/bash\n"),
                "usr/share/base-passwd/group.master" => Some(b"root:*:0:\n"),
                _ => None,
            }
        };
        let layer = setup_layer(&packages, &setup, read).unwrap();
        assert_eq!(
            text(&layer, "etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\nmysql:x:999:999::/nonexistent:/usr/sbin/nologin\n"
        );
        assert_eq!(text(&layer, "etc/group"), "root:*:0:\nmysql:x:999:\n");
        let all = entries(&layer);
        assert_eq!(
            all["etc/mysql/my.cnf"].kind,
            EntryKind::Symlink("/etc/mysql/mariadb.cnf".to_string())
        );
        assert_eq!((all["run/mysqld"].uid, all["run/mysqld"].gid), (999, 999));
        assert_eq!(
            text(&layer, "var/lib/dpkg/status"),
            "Package: base-passwd\nStatus: install ok installed\nVersion: 3.6.1\nArchitecture: amd64\n\n"
        );
        assert_eq!(
            text(&layer, "var/lib/dpkg/info/base-passwd.list"),
            "/.\n/usr/share/base-passwd/passwd.master\n"
        );
    }

    #[test]
    fn users_without_base_passwd_are_refused() {
        let setup = ImageSetup {
            users: vec![ImageUser {
                name: "app".to_string(),
                id: 500,
                home: "/nonexistent".to_string(),
            }],
            ..ImageSetup::default()
        };
        let error = setup_layer(&[], &setup, |_| None).unwrap_err();
        assert!(error.to_string().contains("base_packages"), "{error}");
    }
}
