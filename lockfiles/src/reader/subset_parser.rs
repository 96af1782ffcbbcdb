//! A parser for exactly the TOML the writer emits, and nothing else, read as it streams in.
//!
//! A lockfile is written by `writer.rs` in a small, regular subset of TOML: comments, the
//! headers `[cluster]`, `[hosts.KEY]`, `[secrets.KEY]`, `[rollouts.KEY]`, `[[node]]`,
//! `[package_pins.KEY]` and `[content]`,
//! `key = value` lines with bare or quoted keys, and values that are basic strings, integers,
//! booleans, arrays (inline or one item per line) and inline tables, with text as multi-line
//! literal or basic strings. Parsing that subset directly, into the reader's own tables,
//! costs a fraction of the general parser, which builds a spanned document first.
//!
//! Anything outside the subset, valid TOML or not, makes [`parse`] give up (`None`) and the
//! caller read the text again with the `toml` crate: a lockfile edited by hand into valid
//! TOML of another shape reads the same, and one that is not valid TOML gets the general
//! parser's error, with its line and column. So this parser never reports an error, and it
//! accepts nothing the general parser would refuse or read differently: where TOML has a
//! rule the writer never needs (a duplicated key, a control character, an escape the writer
//! never writes, a float or a date, a carriage return), it gives up. It gives up, too, on a
//! node whose name, id or dependencies do not parse, so that the reader reports those
//! problems as it always has, in order.
//!
//! The text is read in chunks cut before a `[[node]]` line, each parsed and let go: a
//! lockfile of ten thousand hosts is never whole in memory. A node's name, id and
//! dependencies are parsed as they come; the fields of its kind are kept as text, read
//! once per distinct text: the same file, check or command on every host is one class of
//! nodes, with one spec. (A chunk cut inside a multi-line string that holds such a line
//! does not parse, and the caller reads the text whole.)

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::hash::BuildHasher;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

use foldhash::HashMap;
use foldhash::fast::FixedState;

use crate::node_id::NodeId;
use crate::node_name::{NodeName, Scope, SharedNames};
use crate::value::Value;

use super::like_hosts::LikeNode;
use super::{
    ClusterWire, HostWire, LockDocument, NodeTables, ReadNode, SecretWire, SourceWire, SpecClass,
};

/// The fields of a table other than a node's.
type Table = BTreeMap<String, Value>;

/// How much text is read at a time.
const CHUNK: usize = 1 << 20;

/// The line a chunk is cut before (its newline stays with the chunk before).
const NODE_HEADER: &[u8] = b"\n[[node]]\n";

/// The lockfile's tables, or `None` when the text is not in the writer's subset of TOML (or
/// not UTF-8). An error is one of reading `source`.
pub(super) fn parse(source: impl Read) -> io::Result<Option<LockDocument>> {
    parse_in_chunks(source, CHUNK, None)
}

/// [`parse`] of a source of `size` bytes (a file's, as its metadata says): the content
/// table, read whole, gets room for all of it at once.
pub(super) fn parse_sized(source: impl Read, size: u64) -> io::Result<Option<LockDocument>> {
    parse_in_chunks(source, CHUNK, Some(size))
}

/// [`parse`], reading `chunk` bytes at a time, of a source of `size` bytes if known.
pub(super) fn parse_in_chunks(
    mut source: impl Read,
    chunk: usize,
    size: Option<u64>,
) -> io::Result<Option<LockDocument>> {
    let mut buffer: Vec<u8> = Vec::with_capacity(2 * chunk);
    let mut state = ParseState::default();
    let mut at_end = false;
    let mut wanted = chunk;
    // How much of the source the parser was fed.
    let mut fed: u64 = 0;
    // How much of `buffer` is known to hold no node header: only what was read since is
    // searched (the content table, last, has none, and is read on to the end).
    let mut searched: usize = 0;
    loop {
        while !at_end && buffer.len() < wanted {
            at_end = read_into(&mut source, &mut buffer, wanted)? == 0;
        }
        let cut = if at_end {
            buffer.len()
        } else {
            let from = searched.saturating_sub(NODE_HEADER.len() - 1);
            match memchr::memmem::rfind(&buffer[from..], NODE_HEADER).map(|at| from + at) {
                Some(newline) if newline > 0 => newline + 1,
                // No node starts in what was read: read on (the content table comes last).
                // With the size known, the rest gets its room once: grown by doubling, a
                // 20 MB table was copied to fresh memory five times, each page of it
                // faulted in anew.
                _ => {
                    if let Some(size) = size {
                        let rest = usize::try_from(size.saturating_sub(fed)).unwrap_or(0);
                        buffer.reserve((rest + chunk).saturating_sub(buffer.len()));
                    }
                    searched = buffer.len();
                    wanted = buffer.len() + chunk;
                    continue;
                }
            }
        };
        let Ok(text) = std::str::from_utf8(&buffer[..cut]) else {
            return Ok(None);
        };
        if state.feed(text).is_none() {
            return Ok(None);
        }
        buffer.drain(..cut);
        fed += cut as u64;
        // What is left starts with the last node header found: it holds no other.
        searched = buffer.len();
        wanted = chunk;
        if at_end && buffer.is_empty() {
            return Ok(state.finish());
        }
    }
}

/// Reads what `source` gives at once, up to `buffer` holding `wanted` bytes, straight into
/// the buffer (`read_to_end` probes with small reads first). The number of bytes read: 0 at
/// the end.
fn read_into(source: &mut impl Read, buffer: &mut Vec<u8>, wanted: usize) -> io::Result<usize> {
    let start = buffer.len();
    buffer.resize(wanted, 0);
    let read = loop {
        match source.read(&mut buffer[start..]) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            result => break result,
        }
    };
    buffer.truncate(start + *read.as_ref().unwrap_or(&0));
    read
}

/// The names read into `names`, moved out sorted and once each: written so, read as a set
/// whatever the order.
fn sorted_names(names: &mut Vec<NodeName>) -> Vec<NodeName> {
    // Moved into a list of their size; `names` keeps its room for the next node's.
    let mut sorted = Vec::with_capacity(names.len());
    sorted.append(names);
    if !sorted.is_sorted_by(|left, right| left < right) {
        sorted.sort();
        sorted.dedup();
    }
    sorted
}

/// What has been read so far.
#[derive(Default)]
struct ParseState {
    root: Table,
    cluster: Option<Table>,
    hosts: BTreeMap<String, Table>,
    secrets: BTreeMap<String, Table>,
    rollouts: BTreeMap<String, Table>,
    /// Each `[package_pins.HASH]` table (format 6): read as values, once each.
    package_pins: BTreeMap<String, Table>,
    nodes: Vec<ReadNode>,
    /// The nodes of the hosts written like another (format 7), each read apart.
    like_nodes: Vec<LikeNode>,
    /// The node being read, under a [`Header::Node`].
    pending: Option<PendingNode>,
    classes: Vec<SpecClass>,
    /// Each distinct text of fields.
    bodies: Vec<Body>,
    /// The distinct texts of fields, one after the other.
    body_texts: String,
    /// The hash of each distinct text of fields, to its last index in `bodies` (whose
    /// `same_hash` leads to any other with that hash).
    body_hashes: HashMap<u64, usize>,
    /// Hashes texts of fields, always the same way.
    body_hasher: FixedState,
    /// The dependencies of the node being read, moved out whole when it ends.
    deps: Vec<NodeName>,
    /// The nodes the node being read is ordered after, moved out whole when it ends.
    ordered_after: Vec<NodeName>,
    /// The hosts and keys of the names read, one copy of each.
    shared_names: SharedNames,
    /// The host of the last node read, and whether it is written like another: a host's
    /// nodes come together, and share its name.
    last_host: Option<(Arc<str>, bool)>,
    /// Whether a node came after one whose name sorts after its.
    out_of_order: bool,
    content: Option<BTreeMap<String, String>>,
    /// The table the `key = value` lines below the last header go to; `None` above the
    /// first, the document's root.
    section: Option<Header>,
}

/// A distinct text of the fields of nodes.
struct Body {
    /// Where it is in [`ParseState::body_texts`].
    text: Range<usize>,
    /// The classes of the nodes written with it (whose kinds or keys differ): most have one.
    first_class: usize,
    other_classes: Vec<usize>,
    /// The body before it whose text has the same hash.
    same_hash: Option<usize>,
}

/// A node table being read: what it has given so far.
#[derive(Default)]
struct PendingNode {
    name: Option<NodeName>,
    id: Option<NodeId>,
    /// Whether `deps` was given (into [`ParseState::deps`]).
    has_deps: bool,
    /// Whether `ordered_after` was given (into [`ParseState::ordered_after`]).
    has_ordered_after: bool,
    /// Where its fields other than `name`, `id`, `deps` and `ordered_after` start and end,
    /// in the chunk.
    body: Option<(usize, usize)>,
    /// For a node of a host written like another: its fields, read as they come (they are
    /// its own, never shared with another node's).
    like_fields: Option<Vec<(Cow<'static, str>, Value)>>,
}

impl ParseState {
    /// Reads a chunk: whole lines, ending before a `[[node]]` line or at the end of the text.
    fn feed(&mut self, text: &str) -> Option<()> {
        let mut parser = SubsetParser {
            text,
            bytes: text.as_bytes(),
            position: 0,
        };
        loop {
            parser.skip_blanks();
            match parser.peek() {
                None => break,
                Some(b'\n') => parser.position += 1,
                Some(b'#') => parser.comment()?,
                Some(b'[') => {
                    self.end_node(text)?;
                    let header = parser.header()?;
                    match &header {
                        Header::Node => self.pending = Some(PendingNode::default()),
                        Header::Cluster if self.cluster.is_none() => {
                            self.cluster = Some(Table::new());
                        }
                        Header::Content if self.content.is_none() => {
                            self.content = Some(BTreeMap::new());
                        }
                        // A node is read knowing whether its host is written like another.
                        Header::Host(_)
                            if !self.nodes.is_empty() || !self.like_nodes.is_empty() =>
                        {
                            return None;
                        }
                        Header::Host(name) => open_table(&mut self.hosts, name)?,
                        Header::Secret(name) => open_table(&mut self.secrets, name)?,
                        Header::Rollout(name) => open_table(&mut self.rollouts, name)?,
                        Header::PackagePins(hash) => open_table(&mut self.package_pins, hash)?,
                        Header::Cluster | Header::Content => return None,
                    }
                    self.section = Some(header);
                    parser.end_of_line()?;
                }
                Some(_) => {
                    let key_start = parser.position;
                    let key = parser.key()?;
                    parser.skip_blanks();
                    parser.expect(b'=')?;
                    parser.skip_blanks();
                    let key = match &self.section {
                        Some(Header::Node) => {
                            let node = self.pending.as_mut()?;
                            if matches!(key.as_ref(), "name" | "id" | "deps" | "ordered_after") {
                                // The writer writes them before the fields of the node's kind.
                                if node.body.is_some() {
                                    return None;
                                }
                                let lists = (&mut self.deps, &mut self.ordered_after);
                                parser.node_header_field(
                                    node,
                                    lists,
                                    &mut self.shared_names,
                                    &key,
                                )?;
                                parser.end_of_line()?;
                            } else {
                                if node.body.is_none()
                                    && written_like(
                                        &self.hosts,
                                        &mut self.last_host,
                                        node.name.as_ref(),
                                    )
                                {
                                    node.like_fields = Some(Vec::new());
                                }
                                match node.like_fields.as_mut() {
                                    Some(fields) => read_field(&mut parser, fields, key)?,
                                    // Only found here; read once per distinct text, at its end.
                                    None => {
                                        parser.skip_value()?;
                                        parser.end_of_line()?;
                                    }
                                }
                                let start = node.body.map_or(key_start, |(start, _)| start);
                                node.body = Some((start, parser.position));
                            }
                            continue;
                        }
                        _ => key.into_owned(),
                    };
                    let value = parser.value()?;
                    parser.end_of_line()?;
                    let table = match &self.section {
                        Some(Header::Node) => return None,
                        Some(Header::Content) => {
                            let Value::String(body) = value else {
                                return None;
                            };
                            insert(self.content.as_mut()?, key, body)?;
                            continue;
                        }
                        None => &mut self.root,
                        Some(Header::Cluster) => self.cluster.as_mut()?,
                        Some(Header::Host(name)) => self.hosts.get_mut(name)?,
                        Some(Header::Secret(name)) => self.secrets.get_mut(name)?,
                        Some(Header::Rollout(name)) => self.rollouts.get_mut(name)?,
                        Some(Header::PackagePins(hash)) => self.package_pins.get_mut(hash)?,
                    };
                    insert(table, key, value)?;
                }
            }
        }
        // A chunk ends before a `[[node]]` line, or at the end: the node read is whole.
        self.end_node(text)
    }

    /// Finishes the node being read, if any: its class, by its kind, key and the text of
    /// its fields (read here when new).
    fn end_node(&mut self, text: &str) -> Option<()> {
        let Some(mut node) = self.pending.take() else {
            return Some(());
        };
        let name = node.name.take()?;
        if self.written_like(Some(&name)) {
            return self.end_like_node(name, node);
        }
        let id = node.id?;
        // Compared while the names are in cache.
        if self.nodes.last().is_some_and(|last| last.name > name) {
            self.out_of_order = true;
        }
        let deps = sorted_names(&mut self.deps);
        let ordered_after = sorted_names(&mut self.ordered_after);
        let body = node.body.map_or("", |(start, end)| &text[start..end]);
        let hash = self.body_hasher.hash_one(body);
        let mut candidate = self.body_hashes.get(&hash).copied();
        while let Some(index) = candidate {
            if self.body_texts[self.bodies[index].text.clone()] == *body {
                break;
            }
            candidate = self.bodies[index].same_hash;
        }
        let class = match candidate {
            Some(index) => {
                let known = &self.bodies[index];
                let same = std::iter::once(known.first_class)
                    .chain(known.other_classes.iter().copied())
                    .find(|&class| {
                        let first = &self.nodes[self.classes[class].first].name;
                        first.kind == name.kind && first.key == name.key
                    });
                match same {
                    Some(class) => class,
                    None => {
                        let fields = self.classes[known.first_class].fields.clone();
                        let class = self.new_class(fields);
                        self.bodies[index].other_classes.push(class);
                        class
                    }
                }
            }
            None => {
                let class = self.new_class(parse_fields(body)?);
                let start = self.body_texts.len();
                self.body_texts.push_str(body);
                let same_hash = self.body_hashes.insert(hash, self.bodies.len());
                self.bodies.push(Body {
                    text: start..self.body_texts.len(),
                    first_class: class,
                    other_classes: Vec::new(),
                    same_hash,
                });
                class
            }
        };
        self.nodes.push(ReadNode {
            name,
            id,
            deps,
            ordered_after,
            class,
        });
        Some(())
    }

    /// Whether `name`'s host is written like another.
    fn written_like(&mut self, name: Option<&NodeName>) -> bool {
        written_like(&self.hosts, &mut self.last_host, name)
    }

    /// Finishes a node of a host written like another: no id, its lists only where given,
    /// its fields read on their own (they are what differs from the model's node).
    fn end_like_node(&mut self, name: NodeName, node: PendingNode) -> Option<()> {
        if node.id.is_some() {
            return None;
        }
        let deps = node.has_deps.then(|| sorted_names(&mut self.deps));
        let ordered_after = node
            .has_ordered_after
            .then(|| sorted_names(&mut self.ordered_after));
        self.like_nodes.push(LikeNode {
            name,
            deps,
            ordered_after,
            fields: node.like_fields.unwrap_or_default(),
        });
        Some(())
    }

    /// A class of nodes with these fields, whose first is the next node.
    fn new_class(&mut self, fields: Vec<(Cow<'static, str>, Value)>) -> usize {
        self.classes.push(SpecClass {
            fields,
            first: self.nodes.len(),
        });
        self.classes.len() - 1
    }

    fn finish(mut self) -> Option<LockDocument> {
        let version = match self.root.remove("version") {
            Some(Value::Integer(version)) => version,
            _ => return None,
        };
        let digest = take_string(&mut self.root, "digest")??;
        if !self.root.is_empty() {
            return None;
        }
        let cluster = self.cluster.and_then(cluster_wire)?;
        let hosts = self
            .hosts
            .into_iter()
            .map(|(name, table)| host_wire(table).map(|host| (name, host)))
            .collect::<Option<_>>()?;
        let secrets = self
            .secrets
            .into_iter()
            .map(|(name, table)| secret_wire(table).map(|secret| (name, secret)))
            .collect::<Option<_>>()?;
        Some(LockDocument {
            version,
            digest,
            cluster,
            hosts,
            secrets,
            rollouts: self.rollouts,
            package_pins: self.package_pins,
            nodes: NodeTables::Read {
                nodes: self.nodes,
                classes: self.classes,
                sorted: !self.out_of_order,
                like_nodes: self.like_nodes,
            },
            content: self.content.unwrap_or_default(),
        })
    }
}

/// A table of a `[kind.NAME]` header, new and empty; `None` where the file has one already
/// (the general parser refuses the file, naming it).
fn open_table(tables: &mut BTreeMap<String, Table>, name: &str) -> Option<()> {
    match tables.entry(name.to_string()) {
        Entry::Vacant(entry) => {
            entry.insert(Table::new());
            Some(())
        }
        Entry::Occupied(_) => None,
    }
}

/// The fields of one node's body: `key = value` lines, with blank and comment lines
/// between them; `None` outside the subset, or with a key given twice.
fn parse_fields(body: &str) -> Option<Vec<(Cow<'static, str>, Value)>> {
    let mut parser = SubsetParser {
        text: body,
        bytes: body.as_bytes(),
        position: 0,
    };
    let mut fields: Vec<(Cow<'static, str>, Value)> = Vec::with_capacity(8);
    loop {
        parser.skip_blanks();
        match parser.peek() {
            None => return Some(fields),
            Some(b'\n') => parser.position += 1,
            Some(b'#') => parser.comment()?,
            Some(_) => {
                let key = parser.key()?;
                parser.skip_blanks();
                parser.expect(b'=')?;
                parser.skip_blanks();
                read_field(&mut parser, &mut fields, key)?;
            }
        }
    }
}

/// Whether the host of the node `name` is written like another, asked of `hosts` once for
/// the nodes of one host (`last_host`, compared by pointer: the parser shares a host's name
/// between the names that follow each other with it).
fn written_like(
    hosts: &BTreeMap<String, Table>,
    last_host: &mut Option<(Arc<str>, bool)>,
    name: Option<&NodeName>,
) -> bool {
    let Some(Scope::Host(host)) = name.map(|name| &name.scope) else {
        return false;
    };
    match last_host {
        Some((last, like)) if Arc::ptr_eq(last, host) => *like,
        _ => {
            let like = hosts
                .get(host.as_ref())
                .is_some_and(|table| table.contains_key("like"));
            *last_host = Some((host.clone(), like));
            like
        }
    }
}

/// The value of field `key` (after its `=`) to the end of its line, into `fields`; a field
/// given twice is not in the subset.
fn read_field(
    parser: &mut SubsetParser<'_>,
    fields: &mut Vec<(Cow<'static, str>, Value)>,
    key: Cow<'_, str>,
) -> Option<()> {
    let value = parser.value()?;
    parser.end_of_line()?;
    if fields.iter().any(|(field, _)| *field == key) {
        return None;
    }
    fields.push((Cow::Owned(key.into_owned()), value));
    Some(())
}

/// The tables named after their dot (a host, a secret, a container, a pin set's hash):
/// the header's opening, and the header it makes of the name.
const NAMED_HEADERS: [(&str, NamedHeader); 4] = [
    ("[hosts.", Header::Host),
    ("[secrets.", Header::Secret),
    ("[rollouts.", Header::Rollout),
    ("[package_pins.", Header::PackagePins),
];

/// The header a table named after its dot makes of its name.
type NamedHeader = fn(String) -> Header;

/// The table headers the writer writes.
enum Header {
    Cluster,
    Host(String),
    Secret(String),
    Rollout(String),
    Node,
    PackagePins(String),
    Content,
}

fn insert<V>(table: &mut BTreeMap<String, V>, key: String, value: V) -> Option<()> {
    match table.entry(key) {
        Entry::Vacant(entry) => {
            entry.insert(value);
            Some(())
        }
        // TOML refuses a key defined twice.
        Entry::Occupied(_) => None,
    }
}

fn take_string(table: &mut Table, key: &str) -> Option<Option<String>> {
    match table.remove(key) {
        None => Some(None),
        Some(Value::String(text)) => Some(Some(text)),
        Some(_) => None,
    }
}

fn cluster_wire(mut table: Table) -> Option<ClusterWire> {
    let fingerprint_key = match table.remove("fingerprint_key") {
        None => None,
        Some(Value::Table(mut source)) => {
            let source_wire = SourceWire {
                env: take_string(&mut source, "env")?,
                file: take_string(&mut source, "file")?,
            };
            source.is_empty().then_some(())?;
            Some(source_wire)
        }
        Some(_) => return None,
    };
    let cluster = ClusterWire {
        name: take_string(&mut table, "name")??,
        domain: take_string(&mut table, "domain")??,
        fingerprint_key,
        digest: take_string(&mut table, "digest")??,
        nodes_digest: take_string(&mut table, "nodes_digest")??,
    };
    table.is_empty().then_some(cluster)
}

fn host_wire(mut table: Table) -> Option<HostWire> {
    let port = match table.remove("port") {
        None => None,
        Some(Value::Integer(number)) => Some(u16::try_from(number).ok()?),
        Some(_) => return None,
    };
    let roles = match table.remove("roles")? {
        Value::List(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Some(text),
                _ => None,
            })
            .collect::<Option<_>>()?,
        _ => return None,
    };
    let host = HostWire {
        address: take_string(&mut table, "address")??,
        user: take_string(&mut table, "user")?,
        port,
        roles,
        transport: take_string(&mut table, "transport")?,
        root: take_string(&mut table, "root")?,
        become_method: take_string(&mut table, "become")?,
        become_password: take_string(&mut table, "become_password")?,
        like: take_string(&mut table, "like")?,
        digest: take_string(&mut table, "digest")??,
        nodes_digest: take_string(&mut table, "nodes_digest")??,
    };
    table.is_empty().then_some(host)
}

fn secret_wire(mut table: Table) -> Option<SecretWire> {
    let secret = SecretWire {
        env: take_string(&mut table, "env")?,
        file: take_string(&mut table, "file")?,
        fingerprint: take_string(&mut table, "fingerprint")??,
        digest: take_string(&mut table, "digest")??,
    };
    table.is_empty().then_some(secret)
}

/// A cursor over the text. Every method returns `None` where the text leaves the subset.
struct SubsetParser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    position: usize,
}

impl<'a> SubsetParser<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.position += 1)
    }

    fn expect_str(&mut self, expected: &str) -> Option<()> {
        let end = self.position + expected.len();
        (self.bytes.get(self.position..end)? == expected.as_bytes()).then(|| self.position = end)
    }

    /// Spaces and tabs: TOML's whitespace within a line.
    fn skip_blanks(&mut self) {
        while let Some(b' ' | b'\t') = self.peek() {
            self.position += 1;
        }
    }

    /// Whitespace, newlines and comments, as between the items of an array.
    fn skip_blanks_and_lines(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n') => self.position += 1,
                Some(b'#') => self.comment()?,
                _ => return Some(()),
            }
        }
    }

    /// A comment, up to (not including) the end of its line. TOML allows no control
    /// character in a comment but a tab.
    fn comment(&mut self) -> Option<()> {
        while let Some(byte) = self.peek() {
            if byte == b'\n' {
                break;
            }
            if is_forbidden_control(byte) {
                return None;
            }
            self.position += 1;
        }
        Some(())
    }

    /// What may follow a key's value or a header: blanks, a comment, then a newline or the
    /// end of the text.
    fn end_of_line(&mut self) -> Option<()> {
        self.skip_blanks();
        if self.peek() == Some(b'#') {
            self.comment()?;
        }
        match self.peek() {
            None => Some(()),
            Some(b'\n') => {
                self.position += 1;
                Some(())
            }
            Some(_) => None,
        }
    }

    fn header(&mut self) -> Option<Header> {
        if self.expect_str("[[node]]").is_some() {
            return Some(Header::Node);
        }
        if self.expect_str("[cluster]").is_some() {
            return Some(Header::Cluster);
        }
        if self.expect_str("[content]").is_some() {
            return Some(Header::Content);
        }
        for (opening, header) in NAMED_HEADERS {
            if self.expect_str(opening).is_some() {
                let name = self.key()?;
                self.expect(b']')?;
                return Some(header(name.into_owned()));
            }
        }
        None
    }

    /// A bare key (letters, digits, `_` and `-`) or a quoted one. A dotted key is not in the
    /// subset: what follows a key must be blanks and `=` (or `]`, in a header).
    fn key(&mut self) -> Option<Cow<'a, str>> {
        if self.peek() == Some(b'"') {
            self.position += 1;
            return self.basic_string();
        }
        let start = self.position;
        let length = self.bytes[start..]
            .iter()
            .position(|&byte| !(byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'))
            .unwrap_or(self.bytes.len() - start);
        self.position += length;
        (length > 0).then(|| Cow::Borrowed(&self.text[start..self.position]))
    }

    /// The value of `name`, `id`, `deps` or `ordered_after`, into `node` (the lists into
    /// `lists`: its dependencies, the nodes it is ordered after), in the shape the writer
    /// writes (`name` and `id` strings, the lists arrays of strings, each given once);
    /// another shape is left to the general parser, which the reader's errors about them
    /// expect.
    fn node_header_field(
        &mut self,
        node: &mut PendingNode,
        lists: (&mut Vec<NodeName>, &mut Vec<NodeName>),
        hosts: &mut SharedNames,
        key: &str,
    ) -> Option<()> {
        let (deps, ordered_after) = lists;
        match key {
            "name" if node.name.is_none() => {
                node.name = Some(hosts.parse(&self.string()?).ok()?);
            }
            "id" if node.id.is_none() => node.id = Some(self.string()?.parse::<NodeId>().ok()?),
            "deps" if !node.has_deps => {
                node.has_deps = true;
                self.names(deps, hosts)?;
            }
            "ordered_after" if !node.has_ordered_after => {
                node.has_ordered_after = true;
                self.names(ordered_after, hosts)?;
            }
            _ => return None,
        }
        Some(())
    }

    /// An array of node names, into `names`.
    fn names(&mut self, names: &mut Vec<NodeName>, hosts: &mut SharedNames) -> Option<()> {
        self.expect(b'[')?;
        self.array_items(|parser| {
            names.push(hosts.parse(&parser.string()?).ok()?);
            Some(())
        })
    }

    /// The items of an array, after its `[`, each read by `item`: separated by commas, a
    /// trailing comma allowed, with newlines and comments between them.
    fn array_items(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        loop {
            self.skip_blanks_and_lines()?;
            if self.peek()? == b']' {
                self.position += 1;
                return Some(());
            }
            item(self)?;
            self.skip_blanks_and_lines()?;
            match self.peek()? {
                b',' => self.position += 1,
                b']' => {
                    self.position += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Passes over a value as [`SubsetParser::value`] reads it, without building it.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                if self.expect_str("\"\"\"").is_some() {
                    self.multiline_basic_string()?;
                } else {
                    self.position += 1;
                    self.basic_string()?;
                }
            }
            b'\'' => {
                self.expect_str("'''")?;
                self.multiline_literal_string()?;
            }
            b'[' => {
                self.position += 1;
                return self.array_items(Self::skip_value);
            }
            b'{' => {
                // Rare (a container's secrets): read, and dropped.
                self.position += 1;
                self.inline_table()?;
            }
            b't' => self.keyword("true")?,
            b'f' => self.keyword("false")?,
            b'-' | b'0'..=b'9' => {
                self.integer()?;
            }
            _ => return None,
        }
        Some(())
    }

    /// A single-line basic string, quotes and all.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect(b'"')?;
        if self.peek() == Some(b'"') && self.bytes.get(self.position + 1) == Some(&b'"') {
            return None;
        }
        self.basic_string()
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'"' => {
                if self.expect_str("\"\"\"").is_some() {
                    self.multiline_basic_string().map(Value::String)
                } else {
                    self.position += 1;
                    self.basic_string()
                        .map(|text| Value::String(text.into_owned()))
                }
            }
            b'\'' => {
                self.expect_str("'''")?;
                self.multiline_literal_string()
                    .map(|text| Value::String(text.to_string()))
            }
            b'[' => {
                self.position += 1;
                self.array().map(Value::List)
            }
            b'{' => {
                self.position += 1;
                self.inline_table().map(Value::Table)
            }
            b't' => self.keyword("true").map(|()| Value::Bool(true)),
            b'f' => self.keyword("false").map(|()| Value::Bool(false)),
            b'-' | b'0'..=b'9' => self.integer().map(Value::Integer),
            _ => None,
        }
    }

    /// `true` or `false`, which must end where the value ends.
    fn keyword(&mut self, word: &str) -> Option<()> {
        self.expect_str(word)?;
        self.value_ends_here().then_some(())
    }

    /// Whether the byte at the cursor can follow a value: otherwise the value goes on in a
    /// way the subset does not know (`1.5`, `1e3`, `1_000`, a date, `truex`).
    fn value_ends_here(&self) -> bool {
        matches!(
            self.peek(),
            None | Some(b' ' | b'\t' | b'\n' | b'#' | b',' | b']' | b'}')
        )
    }

    /// A decimal integer as the writer writes it: an optional `-`, then `0` or digits not
    /// starting with `0`, within `i64`.
    fn integer(&mut self) -> Option<i64> {
        let start = self.position;
        if self.peek() == Some(b'-') {
            self.position += 1;
        }
        let digits_start = self.position;
        while let Some(b'0'..=b'9') = self.peek() {
            self.position += 1;
        }
        let digits = &self.bytes[digits_start..self.position];
        if digits.is_empty() || (digits[0] == b'0' && digits.len() > 1) || !self.value_ends_here() {
            return None;
        }
        self.text[start..self.position].parse().ok()
    }

    /// The items of an array, after its `[`: any values (see [`SubsetParser::array_items`]).
    fn array(&mut self) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        self.array_items(|parser| {
            items.push(parser.value()?);
            Some(())
        })?;
        Some(items)
    }

    /// The entries of an inline table, after its `{`, on one line and without a trailing
    /// comma (TOML 1.0's inline tables; the writer writes no other).
    fn inline_table(&mut self) -> Option<BTreeMap<String, Value>> {
        let mut entries = BTreeMap::new();
        self.skip_blanks();
        if self.peek()? == b'}' {
            self.position += 1;
            return Some(entries);
        }
        loop {
            self.skip_blanks();
            let key = self.key()?;
            self.skip_blanks();
            self.expect(b'=')?;
            self.skip_blanks();
            let value = self.value()?;
            insert(&mut entries, key.into_owned(), value)?;
            self.skip_blanks();
            match self.peek()? {
                b',' => self.position += 1,
                b'}' => {
                    self.position += 1;
                    return Some(entries);
                }
                _ => return None,
            }
        }
    }

    /// A single-line basic string, after its opening quote.
    fn basic_string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.position;
        // Most strings hold no escape: a slice of the text.
        let length = self.bytes[start..]
            .iter()
            .position(|&byte| ENDS_A_RUN_OF_A_STRING[usize::from(byte)])?;
        self.position += length;
        match self.peek()? {
            b'"' => {
                let text = &self.text[start..self.position];
                self.position += 1;
                return Some(Cow::Borrowed(text));
            }
            b'\\' => {}
            _ => return None,
        }
        let mut text = self.text[start..self.position].to_string();
        loop {
            match self.peek()? {
                b'"' => {
                    self.position += 1;
                    return Some(Cow::Owned(text));
                }
                b'\\' => {
                    self.position += 1;
                    text.push(self.escape()?);
                }
                byte if is_forbidden_control(byte) || byte == b'\n' => return None,
                _ => {
                    let run_start = self.position;
                    while let Some(byte) = self.peek() {
                        if byte == b'"'
                            || byte == b'\\'
                            || byte == b'\n'
                            || is_forbidden_control(byte)
                        {
                            break;
                        }
                        self.position += 1;
                    }
                    text.push_str(&self.text[run_start..self.position]);
                }
            }
        }
    }

    /// A multi-line basic string, after its opening `"""`: a newline right after the quotes
    /// is dropped, newlines and tabs are kept, and every quote is escaped, as the writer
    /// writes it (a quote left unescaped, and a backslash ending a line, are not in the
    /// subset).
    fn multiline_basic_string(&mut self) -> Option<String> {
        if self.peek() == Some(b'\n') {
            self.position += 1;
        }
        let mut text = String::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.expect_str("\"\"\"")?;
                    if self.peek() == Some(b'"') {
                        return None;
                    }
                    return Some(text);
                }
                b'\\' => {
                    self.position += 1;
                    text.push(self.escape()?);
                }
                byte if is_forbidden_control(byte) => return None,
                _ => {
                    let run_start = self.position;
                    while let Some(byte) = self.peek() {
                        if byte == b'"' || byte == b'\\' || is_forbidden_control(byte) {
                            break;
                        }
                        self.position += 1;
                    }
                    text.push_str(&self.text[run_start..self.position]);
                }
            }
        }
    }

    /// A multi-line literal string, after its opening `'''`: a newline right after the
    /// quotes is dropped, and the text runs to the next `'''`, which must not be followed by
    /// another quote (TOML would read it as part of the text).
    fn multiline_literal_string(&mut self) -> Option<&'a str> {
        if self.peek() == Some(b'\n') {
            self.position += 1;
        }
        let start = self.position;
        let length = memchr::memmem::find(&self.bytes[start..], b"'''")?;
        let body = &self.text[start..start + length];
        // Every byte looked at, without an early exit: the compiler vectorises it.
        if body
            .bytes()
            .fold(false, |found, byte| found | is_forbidden_control(byte))
        {
            return None;
        }
        self.position = start + length + 3;
        if self.peek() == Some(b'\'') {
            return None;
        }
        Some(body)
    }

    /// The character of an escape, after its backslash: those TOML 1.0 defines.
    fn escape(&mut self) -> Option<char> {
        let byte = self.peek()?;
        self.position += 1;
        Some(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'u' => self.unicode_escape(4)?,
            b'U' => self.unicode_escape(8)?,
            _ => return None,
        })
    }

    fn unicode_escape(&mut self, digits: usize) -> Option<char> {
        let hex = self.text.get(self.position..self.position + digits)?;
        if !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        self.position += digits;
        char::from_u32(u32::from_str_radix(hex, 16).ok()?)
    }
}

/// The bytes a single-line basic string's run of plain characters stops at: its closing
/// quote, an escape, and every control character (a newline ends no such string; a tab is
/// plain).
const ENDS_A_RUN_OF_A_STRING: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = byte == b'"' as usize
            || byte == b'\\' as usize
            || byte == 0x7f
            || (byte < 0x20 && byte != b'\t' as usize);
        byte += 1;
    }
    table
};

/// A control character TOML allows nowhere in a string or comment as it is (a newline, and
/// a tab, are allowed where they are).
fn is_forbidden_control(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t' && byte != b'\n') || byte == 0x7f
}
