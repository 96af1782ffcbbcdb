//! A bound on the connections being started at once to one SSH server.
//!
//! sshd counts connections that have not yet authenticated against `MaxStartups`
//! (default `10:30:100`): past 10 it drops a growing share of new ones at random. Hundreds
//! of hosts behind one bastion means hundreds of connections to the bastion, one per
//! session, as with `ssh -J`; started all at once, many would be refused. So each hop's
//! connection holds a [`StartupPermit`] for its server from the moment it is dialled (or
//! its channel through the previous hop is opened) until it has authenticated, and no
//! more than `bound` permits of one server are out at a time, in this process (the keeper
//! serves every apply from one process).

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

/// Connections being started, by server (`host`, `port`).
static STARTING: Mutex<BTreeMap<(String, u16), usize>> = Mutex::new(BTreeMap::new());
static FINISHED: Condvar = Condvar::new();

/// One connection being started; dropping it lets the next one start.
#[derive(Debug)]
pub(crate) struct StartupPermit {
    server: (String, u16),
}

impl StartupPermit {
    /// Waits until fewer than `bound` connections to `host:port` are being started.
    pub fn acquire(host: &str, port: u16, bound: usize) -> Self {
        let server = (host.to_ascii_lowercase(), port);
        let mut starting = STARTING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while starting.get(&server).copied().unwrap_or(0) >= bound.max(1) {
            starting = FINISHED
                .wait(starting)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        *starting.entry(server.clone()).or_insert(0) += 1;
        Self { server }
    }
}

impl Drop for StartupPermit {
    fn drop(&mut self) {
        let mut starting = STARTING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = starting.get_mut(&self.server) {
            *count -= 1;
            if *count == 0 {
                starting.remove(&self.server);
            }
        }
        FINISHED.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn no_more_than_the_bound_start_at_once_per_server() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..12 {
                scope.spawn(|| {
                    let _permit = StartupPermit::acquire("Bastion.test", 22, 3);
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 3);
        let server = ("bastion.test".to_string(), 22);
        assert!(!STARTING.lock().unwrap().contains_key(&server));
    }

    #[test]
    fn another_server_is_not_held_up_by_a_full_one() {
        let held: Vec<StartupPermit> = (0..2)
            .map(|_| StartupPermit::acquire("full.test", 22, 2))
            .collect();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _permit = StartupPermit::acquire("full.test", 2222, 2);
            let _ = sender.send(());
        });
        assert!(receiver.recv_timeout(Duration::from_secs(10)).is_ok());
        drop(held);
    }
}
