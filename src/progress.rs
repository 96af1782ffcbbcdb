//! Live progress of an apply on a terminal: one bar for the whole apply and, for up to
//! `HOST_BARS` hosts, one per host, each showing the node that last finished. Failures are
//! printed above the bars as they happen.

use std::collections::BTreeMap;

use cairn_executor::{NodeOutcome, Plan};
use cairn_lockfiles::NodeName;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// More hosts than this share the overall bar alone.
const HOST_BARS: usize = 20;

#[derive(Debug)]
pub struct Progress {
    bars: MultiProgress,
    overall: ProgressBar,
    hosts: BTreeMap<String, ProgressBar>,
}

impl Progress {
    pub fn new(plan: &Plan) -> Self {
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let runs = |host_plan: &cairn_executor::HostPlan| {
            host_plan
                .nodes
                .iter()
                .filter(|(_, decision)| decision.runs())
                .count() as u64
        };
        let total: u64 = plan.hosts.values().map(runs).sum();
        let overall = bars.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {pos}/{len} nodes  {elapsed}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        overall.set_prefix("apply");
        let mut hosts = BTreeMap::new();
        if plan.hosts.len() <= HOST_BARS {
            let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            for (host, host_plan) in &plan.hosts {
                let bar = bars.add(ProgressBar::new(runs(host_plan)));
                bar.set_style(style.clone());
                bar.set_prefix(host.clone());
                hosts.insert(host.clone(), bar);
            }
        }
        Self {
            bars,
            overall,
            hosts,
        }
    }

    /// A line above the bars.
    pub fn println(&self, line: &str) {
        let _ = self.bars.println(line);
    }

    pub fn node_done(&self, name: &NodeName, outcome: &NodeOutcome) {
        let host = name.scope.as_str();
        let short = format!("{}:{}", name.kind, name.key);
        match outcome {
            NodeOutcome::Failed(reason) => {
                let _ = self.bars.println(format!(
                    "FAILED   {name}: {}",
                    reason.replace('\n', "\n         ")
                ));
            }
            NodeOutcome::NotRun(_)
            | NodeOutcome::Skipped
            | NodeOutcome::Passed
            | NodeOutcome::HeldBack(_) => return,
            NodeOutcome::Ran(_) => {}
        }
        self.overall.inc(1);
        self.overall.set_message(format!("{host} {short}"));
        if let Some(bar) = self.hosts.get(host) {
            bar.inc(1);
            bar.set_message(short);
        }
    }

    pub fn finish(&self) {
        for bar in self.hosts.values() {
            bar.finish();
        }
        self.overall.finish();
    }
}
