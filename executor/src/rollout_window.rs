//! When each replacement of a rollout may start: in the rollout's order, at most `width`
//! at once, a sliding window (a replacement that has passed its gates makes room for the
//! next at once, none waits for a whole batch). A member whose dependencies have not all
//! succeeded yet holds the ones after it: the order is kept. Once a member fails, the
//! rollout stops: the members not started never start, and the hosts not reached stay on
//! the release they run.
//!
//! Node dependencies could make a member wait for one after it (a cycle through the
//! order); the scheduler then lets the first ready member start out of order ([`force`])
//! rather than wait for ever.
//!
//! [`force`]: RolloutWindows::force

use std::collections::HashMap;

use cairn_lockfiles::{Node, NodeKind, NodeName, Scope};

use crate::rollout::RolloutPlan;

/// Every rollout's window, by node index.
#[derive(Debug, Default)]
pub(crate) struct RolloutWindows {
    /// By node index: its rollout and its place in that rollout's order.
    member_of: HashMap<usize, (usize, usize)>,
    windows: Vec<Window>,
}

#[derive(Debug)]
struct Window {
    container: String,
    /// Node indices, in the rollout's order.
    members: Vec<usize>,
    /// Whether each member's dependencies have all succeeded.
    ready: Vec<bool>,
    /// Whether each member was let start, or was settled without starting.
    settled: Vec<bool>,
    running: usize,
    width: usize,
    /// Why the rollout stopped.
    stopped: Option<String>,
}

/// What a member's end changes: who may start now, and who never will (and why).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct WindowMoves {
    pub start: Vec<usize>,
    pub never: Vec<(usize, String)>,
}

impl RolloutWindows {
    /// The windows of `rollouts` over `nodes` (a lockfile's, sorted by name): one per
    /// rollout, in the same order.
    pub(crate) fn new(nodes: &[Node], rollouts: &[RolloutPlan]) -> Self {
        let position = |host: &str, container: &str| {
            let name = NodeName::new(Scope::Host(host.into()), NodeKind::Container, container);
            nodes.binary_search_by(|node| node.name.cmp(&name)).ok()
        };
        let mut windows = Self::default();
        for rollout in rollouts {
            let members: Vec<usize> = rollout
                .order
                .iter()
                .filter_map(|host| position(host, &rollout.container))
                .collect();
            let rollout_index = windows.windows.len();
            for (place, member) in members.iter().enumerate() {
                windows.member_of.insert(*member, (rollout_index, place));
            }
            windows.windows.push(Window {
                container: rollout.container.clone(),
                ready: vec![false; members.len()],
                settled: vec![false; members.len()],
                members,
                running: 0,
                width: rollout.width.max(1),
                stopped: None,
            });
        }
        windows
    }

    /// Whether node `index` is a replacement that waits its turn.
    pub(crate) fn is_member(&self, index: usize) -> bool {
        self.member_of.contains_key(&index)
    }

    /// The rollout (its place among the plan's) whose replacement node `index` is.
    pub(crate) fn rollout_of(&self, index: usize) -> Option<usize> {
        self.member_of.get(&index).map(|&(rollout, _)| rollout)
    }

    /// Member `index` has all its dependencies: the members that may start now.
    pub(crate) fn ready(&mut self, index: usize) -> WindowMoves {
        let Some(&(rollout, place)) = self.member_of.get(&index) else {
            return WindowMoves::default();
        };
        self.windows[rollout].ready[place] = true;
        self.windows[rollout].advance()
    }

    /// Member `index` ended without starting (a dependency failed): the window moves past.
    pub(crate) fn skipped(&mut self, index: usize) -> WindowMoves {
        let Some(&(rollout, place)) = self.member_of.get(&index) else {
            return WindowMoves::default();
        };
        self.windows[rollout].settled[place] = true;
        self.windows[rollout].advance()
    }

    /// Member `index` (on `host`) ran: the next may start; if it failed, none ever will.
    pub(crate) fn finished(&mut self, index: usize, host: &str, succeeded: bool) -> WindowMoves {
        let Some(&(rollout, _)) = self.member_of.get(&index) else {
            return WindowMoves::default();
        };
        let window = &mut self.windows[rollout];
        window.running -= 1;
        if !succeeded && window.stopped.is_none() {
            window.stopped = Some(format!(
                "the rollout of container `{}` stopped: its replacement on {host} failed",
                window.container
            ));
        }
        window.advance()
    }

    /// With nothing running and nothing ready: the first ready member of any rollout, let
    /// start out of its order.
    pub(crate) fn force(&mut self) -> Option<usize> {
        for window in &mut self.windows {
            if window.stopped.is_some() {
                continue;
            }
            let Some(place) = (0..window.members.len())
                .find(|&place| window.ready[place] && !window.settled[place])
            else {
                continue;
            };
            window.settled[place] = true;
            window.running += 1;
            return Some(window.members[place]);
        }
        None
    }
}

impl Window {
    /// Starts what the window has room for, in order; once stopped, settles every member
    /// not started as never to start.
    fn advance(&mut self) -> WindowMoves {
        let mut moves = WindowMoves::default();
        if let Some(why) = &self.stopped {
            for place in 0..self.members.len() {
                if !self.settled[place] {
                    self.settled[place] = true;
                    moves.never.push((self.members[place], why.clone()));
                }
            }
            return moves;
        }
        for place in 0..self.members.len() {
            if self.settled[place] {
                continue;
            }
            if self.running >= self.width || !self.ready[place] {
                break;
            }
            self.settled[place] = true;
            self.running += 1;
            moves.start.push(self.members[place]);
        }
        moves
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// A window over members 10, 11, 12 (in that order), `width` at a time.
    fn window(width: usize) -> RolloutWindows {
        let mut windows = RolloutWindows::default();
        for (place, member) in [10, 11, 12].into_iter().enumerate() {
            windows.member_of.insert(member, (0, place));
        }
        windows.windows.push(Window {
            container: "zookeeper".to_string(),
            members: vec![10, 11, 12],
            ready: vec![false; 3],
            settled: vec![false; 3],
            running: 0,
            width,
            stopped: None,
        });
        windows
    }

    fn started(moves: WindowMoves) -> Vec<usize> {
        assert!(moves.never.is_empty());
        moves.start
    }

    #[test]
    fn one_at_a_time_in_order_whatever_order_they_become_ready_in() {
        let mut windows = window(1);
        assert_eq!(started(windows.ready(12)), Vec::<usize>::new());
        assert_eq!(started(windows.ready(11)), Vec::<usize>::new());
        assert_eq!(started(windows.ready(10)), vec![10]);
        assert_eq!(started(windows.finished(10, "a", true)), vec![11]);
        assert_eq!(started(windows.finished(11, "b", true)), vec![12]);
        assert_eq!(
            started(windows.finished(12, "c", true)),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn a_wider_window_slides_without_waiting_for_a_batch() {
        let mut windows = window(2);
        for member in [10, 11, 12] {
            windows.ready(member);
        }
        // 10 and 11 started at the first two `ready`s; 12 waits for room.
        assert_eq!(started(windows.finished(11, "b", true)), vec![12]);
    }

    #[test]
    fn a_failed_replacement_stops_the_rollout_and_names_the_host() {
        let mut windows = window(1);
        windows.ready(10);
        windows.ready(11);
        let moves = windows.finished(10, "master1", false);
        assert!(moves.start.is_empty());
        let never: BTreeSet<usize> = moves.never.iter().map(|(member, _)| *member).collect();
        assert_eq!(never, BTreeSet::from([11, 12]));
        assert!(moves.never[0].1.contains("replacement on master1 failed"));
    }

    #[test]
    fn a_member_that_cannot_run_lets_the_next_one_start() {
        let mut windows = window(1);
        windows.ready(11);
        assert_eq!(started(windows.skipped(10)), vec![11]);
    }

    #[test]
    fn a_stuck_rollout_after_one_with_nothing_ready_is_still_forced() {
        let mut windows = window(1);
        windows.member_of.insert(20, (1, 0));
        windows.windows.push(Window {
            container: "mysql".to_string(),
            members: vec![20],
            ready: vec![true],
            settled: vec![false],
            running: 0,
            width: 1,
            stopped: None,
        });
        assert_eq!(windows.force(), Some(20));
    }

    #[test]
    fn a_stuck_rollout_starts_its_first_ready_member_out_of_order() {
        let mut windows = window(1);
        windows.ready(12);
        assert_eq!(windows.force(), Some(12));
        assert_eq!(windows.force(), None, "nothing else is ready");
    }
}
