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
    Compile {
        /// The cluster spec (TOML).
        spec: PathBuf,
        /// Where to write the lockfile [default: cluster.lock beside the spec].
        #[arg(short, long, value_name = "LOCK")]
        output: Option<PathBuf>,
        /// Write nothing; fail if compiling would change the lockfile.
        #[arg(long)]
        locked: bool,
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
    /// Print the dependency graph of a lockfile.
    Graph {
        lockfile: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT, one cluster per host.
    Dot,
    /// JSON: nodes and edges.
    Json,
}
