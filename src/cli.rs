use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// cairn: compile a cluster spec into a content-addressed, reviewable lockfile.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile a cluster spec into a lockfile.
    Compile(CompileArguments),
    /// Compare two lockfiles (or specs): what NEW changes over OLD, why, and what it restarts;
    /// or, with `--applied LOCK`, LOCK against what each host has applied. Exit 0 when equal,
    /// 1 when they differ, 2 on bad input or an unreachable host.
    // The connection and selection options serve `--applied` alone: clap refuses them
    // without it.
    #[command(
        mut_group("ConnectionArguments", |group| group.requires("applied")),
        mut_group("SelectionArguments", |group| group.requires("applied")),
    )]
    Diff {
        /// The old lockfile, or a spec (`.toml`), compiled in memory.
        // Not `conflicts_with = "applied"`: a conflict would excuse the groups' `requires`.
        #[arg(required_unless_present = "applied")]
        old: Option<PathBuf>,
        /// The new lockfile, or a spec (`.toml`), compiled in memory.
        #[arg(required_unless_present = "applied")]
        new: Option<PathBuf>,
        /// Compare this lockfile with what each host has applied (its recorded state, read
        /// as `cairn plan` reads it): what applying it would change.
        #[arg(long, value_name = "LOCK")]
        applied: Option<PathBuf>,
        /// Print JSON.
        #[arg(long, conflicts_with = "stat")]
        json: bool,
        /// Print counts of nodes added, removed and changed per host and kind.
        #[arg(long)]
        stat: bool,
        #[command(flatten)]
        hosts: HostArguments,
    },
    /// Show the nodes of a lockfile, or one node with its inputs and rendered content.
    Show {
        lockfile: PathBuf,
        /// A node name, `host:kind:key`.
        node: Option<String>,
        /// Print JSON: an array of nodes, or one node.
        #[arg(long)]
        json: bool,
    },
    /// Print the canonical inputs behind a node's id.
    Explain {
        lockfile: PathBuf,
        /// A node name, `host:kind:key`.
        node: String,
    },
    /// Download every artifact a lockfile pins into the local store ($CAIRN_STORE, else
    /// ~/.cache/cairn/store), checking each against its sha256.
    Fetch {
        lockfile: PathBuf,
        /// Then write the pinned Debian packages to this folder as the offline repository
        /// the control host serves (`dists/<suite>/`, `pool/`), replacing an earlier export
        /// there: the suite and components the lockfile's hosts read, else `cairn` and
        /// `main`.
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
    },
    /// Build a lockfile's images with cairn's own builder, each as an OCI image layout
    /// (with Docker's manifest.json: `tar -C DIR -c . | docker load`), no Docker daemon.
    Build {
        lockfile: PathBuf,
        /// Build only this image (repeatable); every image by default.
        #[arg(long = "image", value_name = "NAME")]
        images: Vec<String>,
        /// The folder the layouts go in, one subfolder per image.
        #[arg(long, short, default_value = "images")]
        output: PathBuf,
        /// The layers' compressor, instead of the one the lockfile records for each image
        /// (`[images] compression`): other bytes, so other digests than apply's.
        #[arg(long, value_parser = ["gzip", "zstd"])]
        compression: Option<String>,
        /// The compressor's level (gzip 0-9, default 6; zstd 1-22, default 3), instead of
        /// the lockfile's.
        #[arg(long)]
        level: Option<i32>,
        /// Push each image to this registry (`host:port`, HTTP API v2 over plain HTTP) as
        /// `cairn/<name>:<id>`, sending only the blobs it lacks.
        #[arg(long, value_name = "REGISTRY")]
        push: Option<String>,
    },
    /// Print the dependency graph of a lockfile.
    Graph {
        lockfile: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Show what an apply would do on each host, and why, touching nothing. Exit 2 when a
    /// host cannot be reached (each named; the others are still planned).
    Plan {
        lockfile: PathBuf,
        #[command(flatten)]
        hosts: HostArguments,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Apply a lockfile (or a spec: compiled first) to its hosts.
    Apply {
        /// A lockfile, or a spec (`.toml`) to compile into `cluster.lock` beside it first.
        target: PathBuf,
        #[command(flatten)]
        hosts: HostArguments,
        /// Print a JSON summary on standard output.
        #[arg(long)]
        json: bool,
        /// Print every node that runs, not only failures.
        #[arg(short, long)]
        verbose: bool,
        /// After the summary, print the 10 slowest nodes and the hosts by wall time.
        #[arg(long)]
        timings: bool,
    },
    /// Git's external diff for lockfiles (`git config diff.cairn.command "cairn git-diff"`
    /// and `*.lock diff=cairn` in .gitattributes): `git log -p --ext-diff` then shows each
    /// commit's lockfile change as `cairn diff` reports it. Git gives the seven arguments.
    #[command(hide = true)]
    GitDiff {
        path: String,
        old_file: PathBuf,
        old_hex: String,
        old_mode: String,
        new_file: PathBuf,
        new_hex: String,
        new_mode: String,
    },
    /// Keep SSH connections for later applies (started by apply; not for direct use).
    #[command(hide = true)]
    Keeper {
        /// The Unix socket to serve on.
        #[arg(long)]
        socket: PathBuf,
        /// Seconds to live on after the last use.
        #[arg(long)]
        persist: u64,
    },
    /// A lab of fresh Debian machines on this computer, one per host of a spec, to try
    /// the whole platform before touching real hosts (needs root, Docker, debootstrap).
    Lab {
        #[command(subcommand)]
        command: LabCommand,
    },
    /// Write a cluster spec from an Ansible INI inventory and the old installer's
    /// `KEY=value` config file; passwords go to secret files beside it. Everything not
    /// imported is said on standard error and in the spec's comments.
    Import {
        /// The Ansible INI inventory.
        inventory: PathBuf,
        /// The installer's shell-style config file (`KEY=value` lines).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// A mapping of inventory groups to roles: `[roles]` with `group = "role"` lines
        /// (`""` leaves a group out), over the defaults.
        #[arg(long = "roles", value_name = "FILE")]
        roles_file: Option<PathBuf>,
        /// A group's role, `GROUP=ROLE` (repeatable), over the defaults and the file.
        #[arg(long = "role", value_name = "GROUP=ROLE")]
        role: Vec<String>,
        /// Where to write the spec; its secrets go to `secrets/` beside it. Never
        /// overwritten.
        #[arg(short, long, value_name = "SPEC", default_value = "cluster.toml")]
        output: PathBuf,
    },
    /// List the modules (built-in and the spec's) and every setting they accept.
    Modules {
        /// A folder of your own modules to include (repeatable).
        #[arg(long = "modules", value_name = "DIR")]
        folders: Vec<PathBuf>,
        /// Print the spec reference as Markdown.
        #[arg(long)]
        markdown: bool,
    },
}

/// What to do with a lab.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Make one machine per host of SPEC, at the host's address and SSH port, or bring an
    /// existing lab back to it: running machines kept, stopped ones started, missing ones
    /// made; waits until every machine's sshd answers, then prints how to use them.
    Up {
        /// The cluster spec whose hosts become machines.
        spec: PathBuf,
        /// The lab's folder: its keys, known_hosts, ssh_config, state and the machines'
        /// Docker data [default: lab/ beside the spec].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The lab's network (`10.88.0.0/24`), instead of the narrowest holding every
        /// host's address (a /24 at least).
        #[arg(long, value_name = "NETWORK")]
        subnet: Option<cairn_lab::Subnet>,
        /// How long the machines may take to boot until their sshd answers.
        #[arg(long, value_name = "SECONDS", default_value_t = 180)]
        boot_timeout: u64,
    },
    /// Remove every container, the network and the folder the lab made, and nothing else.
    Down {
        #[command(flatten)]
        folder: LabFolderArgument,
    },
    /// Each machine: its address, whether it runs, whether its sshd answers.
    Status {
        #[command(flatten)]
        folder: LabFolderArgument,
    },
    /// Halt a machine (its container stops and keeps its files), to try a host failing.
    Stop {
        /// The machine: the host's name.
        machine: String,
        #[command(flatten)]
        folder: LabFolderArgument,
    },
    /// Start a stopped machine again and wait for its sshd.
    Start {
        /// The machine: the host's name.
        machine: String,
        #[command(flatten)]
        folder: LabFolderArgument,
        /// How long the machine may take to boot until its sshd answers.
        #[arg(long, value_name = "SECONDS", default_value_t = 180)]
        boot_timeout: u64,
    },
}

/// Which lab.
#[derive(Debug, clap::Args)]
pub struct LabFolderArgument {
    /// The lab's folder, as `cairn lab up` printed it.
    #[arg(long, value_name = "DIR", default_value = "lab")]
    pub dir: PathBuf,
}

/// Which hosts of the lockfile to reach and how: what `plan`, `apply` and `diff --applied`
/// all take, so that the three read the same options.
#[derive(Debug, clap::Args)]
pub struct HostArguments {
    #[command(flatten)]
    pub connection: ConnectionArguments,
    #[command(flatten)]
    pub selection: SelectionArguments,
}

/// How to reach the hosts.
#[derive(Debug, clap::Args)]
pub struct ConnectionArguments {
    /// Nodes and host connections in flight at once.
    #[arg(long, short, default_value_t = 32)]
    pub jobs: usize,
    /// A private key to offer after ssh-agent's (repeatable). Default: ~/.ssh/id_ed25519,
    /// id_ecdsa, id_rsa.
    #[arg(long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    /// The known_hosts file host keys are checked against [default: ~/.ssh/known_hosts].
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Trust the key of a host not yet in known_hosts, and record it. A changed key is
    /// always refused.
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// The SSH client configuration to follow (`HostName`, `Port`, `User`, `ProxyJump`,
    /// `ConnectTimeout`, `ServerAliveInterval`, `ServerAliveCountMax`, `IdentitiesOnly`,
    /// `IdentityFile`), as `ssh -F FILE` [default: ~/.ssh/config and /etc/ssh/ssh_config,
    /// as `ssh` reads them].
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// Seconds a host may stay silent while cairn connects to it (each jump host too)
    /// [default: the SSH configuration's ConnectTimeout, else 10].
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub connect_timeout: Option<f64>,
    /// Connections being started at once to any one SSH server (a bastion every host is
    /// reached through), below sshd's `MaxStartups`, which refuses some past 10.
    #[arg(long, value_name = "N", default_value_t = cairn_executor::transport::DEFAULT_MAX_STARTUPS)]
    pub max_startups: usize,
    /// Keep SSH connections open this many seconds after their last use, for the next
    /// apply or plan (a background `cairn keeper`, like OpenSSH's ControlPersist); 0
    /// connects directly and closes every connection at the end.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub persist: u64,
}

/// Which part of the lockfile to apply.
#[derive(Debug, clap::Args)]
pub struct SelectionArguments {
    /// Apply to these hosts only (comma-separated or repeated; `*` and `?` match as in the
    /// shell). Other hosts are not reached; what depends on their nodes is held back.
    #[arg(long, value_name = "HOSTS", value_delimiter = ',')]
    pub limit: Vec<String>,
    /// Leave the nodes of these kinds, and what needs them, for a later apply
    /// (comma-separated or repeated: check, package, file, command, service, image,
    /// container, health).
    #[arg(long = "skip-kind", value_name = "KINDS", value_delimiter = ',')]
    pub skip_kinds: Vec<cairn_lockfiles::NodeKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT, one cluster per host.
    Dot,
    /// JSON: nodes and edges.
    Json,
}

/// A number of seconds above zero (`0.5`, `10`).
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds.is_finite() && seconds < 1e9 => Ok(seconds),
        _ => Err(format!("`{text}` is not a number of seconds above 0")),
    }
}

/// `cairn compile`'s arguments.
#[derive(Debug, clap::Args)]
pub struct CompileArguments {
    /// The cluster spec (TOML).
    pub spec: PathBuf,
    /// Where to write the lockfile [default: cluster.lock beside the spec].
    #[arg(short, long, value_name = "LOCK")]
    pub output: Option<PathBuf>,
    /// Write nothing; fail if compiling would change the lockfile.
    #[arg(long)]
    pub locked: bool,
    /// Resolve every image's packages again against `[packages] sources`, rather than
    /// keep the lockfile's pins where the image's packages did not change.
    #[arg(long)]
    pub update_pins: bool,
}
