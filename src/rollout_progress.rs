//! Where each rollout stands, said as its replacements end: `rollout zookeeper: master3
//! replaced, 2 of 3` and, when one fails, `rollout zookeeper: stopped at master3, 1 host
//! not reached`.

use std::collections::HashMap;
use std::sync::Mutex;

use cairn_executor::{NodeOutcome, Plan, RolloutPlan};
use cairn_lockfiles::{NodeKind, NodeName};

#[derive(Debug)]
pub struct RolloutProgress {
    rollouts: Vec<RolloutPlan>,
    /// (host, container) of each replacement, to its rollout's place in `rollouts`: an
    /// apply's every container node asks, so no rollout's hosts are searched.
    place_of: HashMap<(String, String), usize>,
    /// Per rollout, the replacements ended so far.
    ended: Mutex<Vec<usize>>,
}

impl RolloutProgress {
    pub fn new(plan: &Plan) -> Self {
        let place_of = plan
            .rollouts
            .iter()
            .enumerate()
            .flat_map(|(place, rollout)| {
                rollout
                    .order
                    .iter()
                    .map(move |host| ((host.clone(), rollout.container.clone()), place))
            })
            .collect();
        Self {
            ended: Mutex::new(vec![0; plan.rollouts.len()]),
            rollouts: plan.rollouts.clone(),
            place_of,
        }
    }

    /// The line to print as node `name` ends with `outcome`, if it is a replacement.
    pub fn line(&self, name: &NodeName, outcome: &NodeOutcome) -> Option<String> {
        let host = name.host()?;
        if name.kind != NodeKind::Container {
            return None;
        }
        let place = *self
            .place_of
            .get(&(host.to_string(), name.key.to_string()))?;
        let rollout = &self.rollouts[place];
        let mut ended = self
            .ended
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        ended[place] += 1;
        let total = rollout.order.len();
        match outcome {
            NodeOutcome::Ran(_) => Some(format!(
                "rollout {}: {host} replaced, {} of {total}",
                rollout.container, ended[place]
            )),
            NodeOutcome::Failed(_) => {
                let not_reached = total - ended[place];
                Some(format!(
                    "rollout {}: stopped at {host}, {not_reached} host{} not reached",
                    rollout.container,
                    if not_reached == 1 { "" } else { "s" }
                ))
            }
            _ => None,
        }
    }
}
