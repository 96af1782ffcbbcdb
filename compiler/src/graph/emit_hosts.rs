//! The host nodes of `emit`: every host's declarations rendered, the hosts split into
//! contiguous runs rendered on threads of their own (`std::thread::scope`), each with a
//! renderer of its own (a renderer's caches are not shared between threads).
//!
//! The result is the one a single thread gives: the runs are joined in the hosts' order,
//! and the diagnostics are those of the first host that has any (a run stops at its first
//! such host, and the runs after the first such run are dropped), as the sequential loop
//! stops there. A text rendered on two threads is two equal texts: the lockfile addresses
//! a text by its hash, so it is written once all the same.

use std::num::NonZeroUsize;

use crate::diagnostic::Diagnostics;
use crate::graph::emit::{EmittedNode, emit_declaration};
use crate::graph::spec_origin::{declaration_text, spec_notes};
use crate::render::{Renderer, TemplateContext};
use crate::spec::{ClusterSpec, HostSpec};

/// The fewest hosts a thread is given: below it, a thread costs more than it saves.
const HOSTS_PER_THREAD: usize = 256;

/// The most threads rendering hosts.
const MOST_THREADS: usize = 8;

/// Adds the nodes of `hosts` to `emitted`, in the hosts' order, and to `diagnostics` the
/// problems of the first host that has any (the nodes are then incomplete, good only for
/// the error).
pub fn emit_host_nodes<'m>(
    spec: &'m ClusterSpec,
    hosts: &[&'m HostSpec],
    context: &TemplateContext,
    renderer: &Renderer<'m>,
    emitted: &mut Vec<EmittedNode<'m>>,
    diagnostics: &mut Diagnostics,
) {
    let threads = thread_count(hosts.len());
    let mut runs = hosts.chunks(hosts.len().div_ceil(threads).max(1));
    let first_run = runs.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let others: Vec<_> = runs
            .map(|run| {
                let own_renderer = renderer.sibling();
                scope.spawn(move || emit_run(spec, run, context, &own_renderer))
            })
            .collect();
        let first = emit_run(spec, first_run, context, renderer);
        let joined = others.into_iter().map(|thread| match thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        });
        for (run_nodes, run_diagnostics) in std::iter::once(first).chain(joined) {
            let stop = !run_diagnostics.is_empty();
            emitted.extend(run_nodes);
            diagnostics.append(run_diagnostics);
            // The runs after the first with problems are not the sequential loop's (the
            // scope still waits for their threads).
            if stop {
                break;
            }
        }
    });
}

/// How many threads render `hosts` hosts: one per core, at most [`MOST_THREADS`], and each
/// with [`HOSTS_PER_THREAD`] hosts at least.
fn thread_count(hosts: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    cores.min(MOST_THREADS).min(hosts / HOSTS_PER_THREAD).max(1)
}

/// The nodes of a run of hosts, in order, and the problems of its first host that has
/// any: it stops there, as one broken declaration would otherwise report once per host.
fn emit_run<'m>(
    spec: &'m ClusterSpec,
    hosts: &[&'m HostSpec],
    context: &TemplateContext,
    renderer: &Renderer<'m>,
) -> (Vec<EmittedNode<'m>>, Diagnostics) {
    let mut emitted = Vec::new();
    let mut diagnostics = Diagnostics::default();
    for host in hosts {
        emit_host(
            spec,
            host,
            context,
            renderer,
            &mut emitted,
            &mut diagnostics,
        );
        if !diagnostics.is_empty() {
            break;
        }
    }
    (emitted, diagnostics)
}

/// Renders the declarations of every module that applies to `host`.
fn emit_host<'m>(
    spec: &'m ClusterSpec,
    host: &'m HostSpec,
    context: &TemplateContext,
    renderer: &Renderer<'m>,
    emitted: &mut Vec<EmittedNode<'m>>,
    diagnostics: &mut Diagnostics,
) {
    let host_context = context.for_host(&host.name);
    let scope = cairn_lockfiles::Scope::Host(host.name.as_str().into());
    let modules = spec.library.modules();
    for module in modules
        .iter()
        .filter(|module| module.applies_to(&host.roles))
    {
        for declaration in &module.nodes {
            let mark = diagnostics.len();
            emit_declaration(
                module,
                declaration,
                &scope,
                &host_context,
                renderer,
                emitted,
                diagnostics,
            );
            if diagnostics.len() > mark {
                let text = declaration_text(declaration);
                let notes = spec_notes(spec, module, &text, Some(host));
                diagnostics.note_since(mark, &notes);
            }
        }
    }
}
