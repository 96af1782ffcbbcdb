//! Real users of this machine for the `become = "sudo"` tests, made once and kept (the
//! tests of other runs use them too): one with passwordless sudo, one whose sudo asks for
//! its password, one without sudo rights. They log in with the SSH fixture's key (its
//! sshd reads one authorized_keys file for every user); none can log in with a password.

use std::process::Command;

use crate::support::run_successfully;

pub const PASSWORDLESS: &str = "cairn-sudo-free";
pub const WITH_PASSWORD: &str = "cairn-sudo-pass";
pub const WITHOUT_SUDO: &str = "cairn-no-sudo";
/// `WITH_PASSWORD`'s password, with a space and shell characters in it.
pub const PASSWORD: &str = "correct horse $7 'battery'";

const SUDOERS: &str = "/etc/sudoers.d/cairn-tests";

/// Makes the users and their sudo rules, if need be.
pub fn ensure_users() {
    assert!(
        std::path::Path::new("/usr/bin/sudo").exists(),
        "/usr/bin/sudo is missing: install Debian's sudo (.ci/run does)"
    );
    // Concurrent test processes make them one at a time.
    let lock = std::fs::File::create("/run/lock/cairn-test-users.lock").expect("a lock file");
    lock.lock().expect("the users' lock");
    for user in [PASSWORDLESS, WITH_PASSWORD, WITHOUT_SUDO] {
        let exists = Command::new("id")
            .arg(user)
            .output()
            .expect("id runs")
            .status
            .success();
        if !exists {
            run("useradd", &["--create-home", "--shell", "/bin/sh", user]);
        }
        // An account without a password is locked (`!`), and sshd refuses it even a key:
        // `*` unlocks it without giving it a password.
        run("usermod", &["--password", "*", user]);
    }
    let mut chpasswd = Command::new("chpasswd")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("chpasswd runs");
    std::io::Write::write_all(
        chpasswd.stdin.as_mut().expect("stdin"),
        format!("{WITH_PASSWORD}:{PASSWORD}\n").as_bytes(),
    )
    .expect("the password written");
    assert!(chpasswd.wait().expect("chpasswd ends").success());
    let rules =
        format!("{PASSWORDLESS} ALL=(ALL:ALL) NOPASSWD: ALL\n{WITH_PASSWORD} ALL=(ALL:ALL) ALL\n");
    if std::fs::read_to_string(SUDOERS).ok().as_deref() != Some(rules.as_str()) {
        let draft = format!("{SUDOERS}.draft");
        std::fs::write(&draft, &rules).expect("the sudoers rules");
        run("chmod", &["0440", &draft]);
        run("visudo", &["--check", "--file", &draft]);
        std::fs::rename(&draft, SUDOERS).expect("the sudoers rules in place");
    }
}

fn run(program: &str, arguments: &[&str]) {
    run_successfully(
        Command::new(program).args(arguments),
        &format!("{program} {arguments:?}"),
    );
}
