//! A container's rollout: how its replicas across hosts are replaced when a release changes
//! them. The lockfile holds one `[rollouts.NAME]` table per container name (what the
//! compiler read from the module and the spec, or the defaults), outside every node's id:
//! a change to the policy replaces no container, and `cairn diff` shows it as such.
//!
//! Only replacements wait their turn (a host whose container runs already and changes); a
//! first install runs as fast as the graph allows. Replicas are replaced at most
//! `max_parallel` at a time, in order of host name, except that the hosts where
//! `last_where` succeeds (the ZooKeeper leader, the MySQL master, the load balancer
//! holding the VIP) come after all the others; each replacement waits for its gates (health
//! nodes of its host) to pass and to still pass `min_healthy_seconds` later, within
//! `deadline_seconds`, before the next takes its place.
//!
//! Hosts keep the images of the container's last `keep_releases` releases (so applying the
//! previous lockfile, a rollback, needs no image shipped); the older ones are removed once a
//! release is healthy on every host that runs the container.

use std::collections::BTreeMap;
use std::fmt;

use crate::node_kind::NodeKind;
use crate::node_name::NodeName;
use crate::nodes::{FieldError, FieldReader, TextSource};
use crate::value::Value;

/// How many replicas may be replaced at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallelism {
    /// At most this many (at least 1).
    Count(u32),
    /// At most this share of the hosts that run the container, rounded up (1 to 100).
    Percent(u32),
}

impl Parallelism {
    /// How many of `replicas` may be replaced at once: at least one.
    pub fn of(self, replicas: usize) -> usize {
        let allowed = match self {
            Parallelism::Count(count) => count as usize,
            Parallelism::Percent(percent) => (replicas * percent as usize).div_ceil(100),
        };
        allowed.max(1)
    }

    fn to_value(self) -> Value {
        match self {
            Parallelism::Count(count) => Value::Integer(i64::from(count)),
            Parallelism::Percent(_) => Value::String(self.to_string()),
        }
    }

    /// A count (`1`) or a share (`"25%"`), as a module, a spec or a lockfile writes it.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let problem = || {
            format!(
                "`max_parallel` must be a count of at least 1 or a share from \"1%\" to \"100%\", found {}",
                display_value(value)
            )
        };
        match value {
            Value::Integer(count) => u32::try_from(*count)
                .ok()
                .filter(|count| *count >= 1)
                .map(Parallelism::Count)
                .ok_or_else(problem),
            Value::String(text) => text
                .strip_suffix('%')
                .and_then(|digits| digits.parse::<u32>().ok())
                .filter(|percent| (1..=100).contains(percent))
                .map(Parallelism::Percent)
                .ok_or_else(problem),
            _ => Err(problem()),
        }
    }
}

fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => format!("\"{text}\""),
        Value::Integer(number) => number.to_string(),
        other => format!("a {}", other.type_name()),
    }
}

impl fmt::Display for Parallelism {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Parallelism::Count(count) => write!(formatter, "{count}"),
            Parallelism::Percent(percent) => write!(formatter, "{percent}%"),
        }
    }
}

/// The hosts replaced after all the others: those where a command succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastHosts {
    /// A shell command run on each host of the rollout before it starts (with
    /// `CAIRN_CONTAINER_PREFIX` set, as for a command probe).
    pub run: String,
    /// What those hosts are, for people: "the ZooKeeper leader".
    pub are: String,
}

/// How one container's replicas are replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutPolicy {
    pub max_parallel: Parallelism,
    pub last: Option<LastHosts>,
    /// A shell command run on a host before its container is stopped, which must succeed:
    /// it takes the host out of service (a load balancer gives up the VIP).
    pub drain: Option<String>,
    /// A shell command run on the host once its replacement passed its gates, or was put
    /// back: it puts the host in service again.
    pub undrain: Option<String>,
    /// The health nodes (`health:KEY`) of a replaced container's host that must pass before
    /// the next replacement; a host without one of them skips it.
    pub gates: Vec<String>,
    /// How long the gates must still pass after they first did.
    pub min_healthy_seconds: u64,
    /// How long a replacement may take to pass its gates before it counts as failed.
    pub deadline_seconds: u64,
    /// How many releases' images each host keeps (the running one included, at least 1):
    /// the older ones are removed once a release is healthy on every host that runs it.
    pub keep_releases: u32,
}

impl RolloutPolicy {
    pub const DEFAULT_MAX_PARALLEL: Parallelism = Parallelism::Percent(25);
    pub const DEFAULT_MIN_HEALTHY_SECONDS: u64 = 5;
    pub const DEFAULT_DEADLINE_SECONDS: u64 = 300;
    /// The longest a replacement may be given to pass its gates, or to stay healthy: a day.
    pub const MAX_SECONDS: u64 = 86_400;
    /// The running release and the one before: a rollback finds its image on the host.
    pub const DEFAULT_KEEP_RELEASES: u32 = 2;
    /// The most releases' images a host may be asked to keep.
    pub const MAX_KEEP_RELEASES: u32 = 100;
    /// The fields of a `[rollouts.NAME]` table (and of a module's `rollout`), in the order
    /// they are written.
    pub const FIELDS: [&'static str; 9] = [
        "max_parallel",
        "last_where",
        "last_are",
        "drain",
        "undrain",
        "gates",
        "min_healthy_seconds",
        "deadline_seconds",
        "keep_releases",
    ];

    /// The policy of a container that states none: a quarter of its hosts at a time,
    /// gated by `gates` (its host's health nodes that depend on it).
    pub fn default_with_gates(gates: Vec<String>) -> Self {
        Self {
            max_parallel: Self::DEFAULT_MAX_PARALLEL,
            last: None,
            drain: None,
            undrain: None,
            gates,
            min_healthy_seconds: Self::DEFAULT_MIN_HEALTHY_SECONDS,
            deadline_seconds: Self::DEFAULT_DEADLINE_SECONDS,
            keep_releases: Self::DEFAULT_KEEP_RELEASES,
        }
    }

    /// The gates as node names on `host`.
    pub fn gates_on<'a>(&'a self, host: &'a str) -> impl Iterator<Item = NodeName> + 'a {
        self.gates
            .iter()
            .filter_map(|gate| Self::gate_on(gate, host))
    }

    /// A gate (`health:KEY`) as a node name on `host`.
    pub fn gate_on(gate: &str, host: &str) -> Option<NodeName> {
        let key = gate.strip_prefix("health:")?;
        Some(NodeName::on_host(host, NodeKind::Health, key))
    }

    /// The table's fields, in the order they are written (defaults written too: a reviewer
    /// sees the whole policy).
    pub fn fields(&self) -> Vec<(&'static str, Value)> {
        let mut fields = vec![("max_parallel", self.max_parallel.to_value())];
        if let Some(last) = &self.last {
            fields.push(("last_where", Value::String(last.run.clone())));
            fields.push(("last_are", Value::String(last.are.clone())));
        }
        if let Some(drain) = &self.drain {
            fields.push(("drain", Value::String(drain.clone())));
        }
        if let Some(undrain) = &self.undrain {
            fields.push(("undrain", Value::String(undrain.clone())));
        }
        fields.push(("gates", Value::strings(&self.gates)));
        fields.push((
            "min_healthy_seconds",
            Value::Integer(self.min_healthy_seconds as i64),
        ));
        fields.push((
            "deadline_seconds",
            Value::Integer(self.deadline_seconds as i64),
        ));
        fields.push((
            "keep_releases",
            Value::Integer(i64::from(self.keep_releases)),
        ));
        fields
    }

    /// A policy from a table's fields, refusing any other field.
    pub fn from_fields(fields: BTreeMap<String, Value>) -> Result<Self, FieldError> {
        let mut reader = FieldReader::new(fields, TextSource::Inline);
        let max_parallel = match reader.raw("max_parallel") {
            None => Self::DEFAULT_MAX_PARALLEL,
            Some(value) => {
                Parallelism::from_value(&value).map_err(|message| FieldError::Invalid {
                    field: "max_parallel".to_string(),
                    message,
                })?
            }
        };
        let last = match (
            reader.optional_string("last_where")?,
            reader.optional_string("last_are")?,
        ) {
            (None, None) => None,
            (Some(run), Some(are)) => Some(LastHosts { run, are }),
            (run, _) => {
                let (given, missing) = if run.is_some() {
                    ("last_where", "last_are")
                } else {
                    ("last_are", "last_where")
                };
                return Err(FieldError::Invalid {
                    field: given.to_string(),
                    message: format!(
                        "`last_where` (the command) and `last_are` (what those hosts are) go together; add `{missing}`"
                    ),
                });
            }
        };
        let gates = reader.strings("gates")?;
        if let Some(gate) = gates.iter().find(|gate| !is_gate(gate)) {
            return Err(FieldError::Invalid {
                field: "gates".to_string(),
                message: format!("`{gate}` is not a health node; a gate is `health:NAME`"),
            });
        }
        let policy = Self {
            max_parallel,
            last,
            drain: reader.optional_string("drain")?,
            undrain: reader.optional_string("undrain")?,
            gates,
            min_healthy_seconds: reader
                .optional_integer("min_healthy_seconds")?
                .unwrap_or(Self::DEFAULT_MIN_HEALTHY_SECONDS),
            deadline_seconds: reader
                .optional_integer("deadline_seconds")?
                .unwrap_or(Self::DEFAULT_DEADLINE_SECONDS),
            keep_releases: reader
                .optional_integer("keep_releases")?
                .unwrap_or(Self::DEFAULT_KEEP_RELEASES),
        };
        reader.finish()?;
        check_seconds("min_healthy_seconds", policy.min_healthy_seconds, 0)?;
        check_seconds("deadline_seconds", policy.deadline_seconds, 1)?;
        check_keep_releases(policy.keep_releases)?;
        Ok(policy)
    }
}

/// `keep_releases` from 1 (the running release alone: a rollback ships its image again)
/// to [`RolloutPolicy::MAX_KEEP_RELEASES`].
fn check_keep_releases(keep_releases: u32) -> Result<(), FieldError> {
    if (1..=RolloutPolicy::MAX_KEEP_RELEASES).contains(&keep_releases) {
        return Ok(());
    }
    Err(FieldError::Invalid {
        field: "keep_releases".to_string(),
        message: format!(
            "{keep_releases} is not from 1 (the running release alone) to {}",
            RolloutPolicy::MAX_KEEP_RELEASES
        ),
    })
}

/// `seconds` of `field` from `minimum` to a day.
fn check_seconds(field: &str, seconds: u64, minimum: u64) -> Result<(), FieldError> {
    if (minimum..=RolloutPolicy::MAX_SECONDS).contains(&seconds) {
        return Ok(());
    }
    Err(FieldError::Invalid {
        field: field.to_string(),
        message: format!(
            "{seconds} is not from {minimum} to {} (a day)",
            RolloutPolicy::MAX_SECONDS
        ),
    })
}

fn is_gate(gate: &str) -> bool {
    gate.strip_prefix("health:")
        .is_some_and(|key| !key.is_empty() && !key.chars().any(char::is_control))
}

impl fmt::Display for RolloutPolicy {
    /// One line: `1 at a time, the ZooKeeper leader last, gated by health:zookeeper-ruok
    /// (healthy 5 s, within 300 s)`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} at a time", self.max_parallel)?;
        if let Some(last) = &self.last {
            write!(formatter, ", {} last", last.are)?;
        }
        if self.drain.is_some() {
            formatter.write_str(", each drained before its stop")?;
        }
        write!(formatter, ", {}", self.gating())?;
        if self.keep_releases != Self::DEFAULT_KEEP_RELEASES {
            write!(
                formatter,
                ", the images of its last {} releases kept",
                self.keep_releases
            )?;
        }
        Ok(())
    }
}

impl RolloutPolicy {
    /// `gated by health:a, health:b (healthy 5 s, within 300 s)`, or `no gate (...)`.
    pub fn gating(&self) -> String {
        let gates = if self.gates.is_empty() {
            "no gate".to_string()
        } else {
            format!("gated by {}", self.gates.join(", "))
        };
        format!(
            "{gates} (healthy {} s, within {} s)",
            self.min_healthy_seconds, self.deadline_seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
        entries
            .iter()
            .map(|(key, value)| (key.to_string(), value.clone()))
            .collect()
    }

    #[test]
    fn a_share_of_hosts_rounds_up_and_never_reaches_zero() {
        assert_eq!(Parallelism::Percent(25).of(3), 1);
        assert_eq!(Parallelism::Percent(25).of(10), 3);
        assert_eq!(Parallelism::Percent(25).of(10_000), 2_500);
        assert_eq!(Parallelism::Percent(1).of(0), 1);
        assert_eq!(Parallelism::Count(2).of(5), 2);
    }

    #[test]
    fn max_parallel_is_a_count_or_a_share() {
        let read = |value: Value| Parallelism::from_value(&value);
        assert_eq!(read(Value::Integer(2)), Ok(Parallelism::Count(2)));
        assert_eq!(
            read(Value::String("10%".into())),
            Ok(Parallelism::Percent(10))
        );
        for wrong in [
            Value::Integer(0),
            Value::String("0%".into()),
            Value::String("101%".into()),
            Value::String("half".into()),
            Value::Bool(true),
        ] {
            let message = read(wrong).unwrap_err();
            assert!(message.contains("a count of at least 1"), "{message}");
        }
    }

    #[test]
    fn a_policy_reads_back_from_the_fields_it_writes() {
        let policy = RolloutPolicy {
            max_parallel: Parallelism::Count(1),
            last: Some(LastHosts {
                run: "test -e /leader".into(),
                are: "the leader".into(),
            }),
            drain: Some("touch /drained".into()),
            undrain: Some("rm /drained".into()),
            gates: vec!["health:ruok".into()],
            min_healthy_seconds: 10,
            deadline_seconds: 120,
            keep_releases: 3,
        };
        let fields = policy
            .fields()
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect();
        assert_eq!(RolloutPolicy::from_fields(fields), Ok(policy));
    }

    #[test]
    fn an_empty_table_is_the_default_policy_without_gates() {
        assert_eq!(
            RolloutPolicy::from_fields(BTreeMap::new()),
            Ok(RolloutPolicy::default_with_gates(Vec::new()))
        );
    }

    #[test]
    fn mistakes_name_the_field_and_the_fix() {
        let error = |entries: &[(&str, Value)]| {
            RolloutPolicy::from_fields(table(entries))
                .unwrap_err()
                .to_string()
        };
        assert!(error(&[("last_where", Value::String("true".into()))]).contains("add `last_are`"));
        assert!(
            error(&[("gates", Value::strings(&["container:x".into()]))])
                .contains("a gate is `health:NAME`")
        );
        assert!(error(&[("deadline_seconds", Value::Integer(0))]).contains("not from 1 to 86400"));
        assert!(
            error(&[("min_healthy_seconds", Value::Integer(100_000))])
                .contains("not from 0 to 86400")
        );
        assert!(error(&[("keep_releases", Value::Integer(0))]).contains("not from 1"));
        assert!(error(&[("keep_releases", Value::Integer(101))]).contains("to 100"));
        assert!(error(&[("order", Value::String("any".into()))]).contains("unknown field `order`"));
    }

    #[test]
    fn the_policy_reads_as_one_line() {
        let mut policy = RolloutPolicy::default_with_gates(vec!["health:ping".into()]);
        assert_eq!(
            policy.to_string(),
            "25% at a time, gated by health:ping (healthy 5 s, within 300 s)"
        );
        policy.last = Some(LastHosts {
            run: "true".into(),
            are: "the master".into(),
        });
        policy.gates.clear();
        assert!(policy.to_string().contains("the master last, no gate"));
        policy.keep_releases = 5;
        assert!(
            policy
                .to_string()
                .ends_with(", the images of its last 5 releases kept")
        );
    }

    #[test]
    fn a_table_without_keep_releases_keeps_two_releases() {
        let policy = RolloutPolicy::from_fields(BTreeMap::new()).unwrap();
        assert_eq!(policy.keep_releases, 2);
        assert!(!policy.to_string().contains("kept"), "{policy}");
    }
}
