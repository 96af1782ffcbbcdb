use std::collections::BTreeMap;

use cairn_lockfiles::{
    FieldError, FieldReader, NodeKind, NodeName, NodeSpec, Scope, TextSource, Value,
};
use minijinja::Value as TemplateValue;

use crate::diagnostic::{Diagnostic, Diagnostics, SourceSpan};
use crate::graph::emit_hosts::emit_host_nodes;
use crate::graph::spec_origin::{declaration_text, spec_notes};
use crate::module::manifest::Module;
use crate::module::node_declaration::{DeclaredValue, DependencyReference, NodeDeclaration};
use crate::module::requirement::Requirement;
use crate::render::{Rendered, Renderer, TemplateContext, to_lock_value};
use crate::spec::{ClusterSpec, HostSpec};
use crate::suggest::did_you_mean;
use crate::toml_reader::Located;

/// A dependency after its templates (`key`, `role`, `host`) were rendered: the declared
/// reference's own shape, holding rendered text where the manifest held templates, so the
/// three ways to name a node are spelled out once.
pub type RenderedDependency = DependencyReference;

/// A node's dependency as rendered, with where it was declared.
#[derive(Debug)]
pub struct EmittedDependency<'m> {
    pub reference: RenderedDependency,
    /// Waited for, not part of the id: it resolves into the node's `ordered_after`.
    pub order_only: bool,
    pub at: SourceSpan<'m>,
}

/// A node rendered from a declaration, its dependencies not yet resolved.
#[derive(Debug)]
pub struct EmittedNode<'m> {
    pub name: NodeName,
    pub spec: NodeSpec,
    pub dependencies: Vec<EmittedDependency<'m>>,
    pub declared_at: SourceSpan<'m>,
    /// The declaration it was rendered from (its fields' spans, for errors found later).
    pub declaration: &'m NodeDeclaration,
    /// The node's context, kept where its declaration has a `claim` to render should the
    /// node clash with another (`graph/claim_conflict.rs`).
    pub claim_context: Option<TemplateValue>,
    /// Its position in its declaration's `for_each` list.
    pub item_position: Option<usize>,
    /// A container's rollout, rendered in its context, where its declaration states one.
    pub rollout: Option<BTreeMap<String, Value>>,
}

/// The field that holds a module file to render as the node's (or the image file's)
/// `content`.
const TEMPLATE_FIELD: &str = "template";

/// Renders every declaration of every module that applies: the images, then each host's
/// nodes (on several threads, `emit_hosts.rs`), in the hosts' order.
pub fn emit_nodes<'m>(
    spec: &'m ClusterSpec,
    context: &TemplateContext,
    renderer: &Renderer<'m>,
) -> Result<Vec<EmittedNode<'m>>, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let mut emitted = Vec::new();
    let modules = spec.library.modules();

    let cluster_context = context.for_cluster();
    for module in modules {
        let used = spec
            .hosts
            .values()
            .any(|host| module.applies_to(&host.roles));
        if !used {
            continue;
        }
        for requirement in &module.requirements {
            check_requirement(
                spec,
                module,
                requirement,
                &cluster_context,
                renderer,
                &mut diagnostics,
            );
        }
        for declaration in &module.images {
            let mark = diagnostics.len();
            emit_declaration(
                module,
                declaration,
                &Scope::Cluster,
                &cluster_context,
                renderer,
                &mut emitted,
                &mut diagnostics,
            );
            if diagnostics.len() > mark {
                let text = declaration_text(declaration);
                diagnostics.note_since(mark, &spec_notes(spec, module, &text, None));
            }
        }
    }
    let hosts: Vec<&HostSpec> = spec.hosts.values().collect();
    // A broken image declaration would otherwise report once per host: with one, a single
    // host is rendered, for its own problems.
    let hosts = if diagnostics.is_empty() {
        &hosts[..]
    } else {
        &hosts[..hosts.len().min(1)]
    };
    emit_host_nodes(
        spec,
        hosts,
        context,
        renderer,
        &mut emitted,
        &mut diagnostics,
    );
    if diagnostics.is_empty() {
        Ok(emitted)
    } else {
        Err(diagnostics)
    }
}

/// A module's `[[require]]`: its condition, evaluated for the cluster; where it is false,
/// an error with the module's message, at the spec's line for the setting it names (where
/// the spec gives it), else at the condition.
fn check_requirement<'m>(
    spec: &ClusterSpec,
    module: &'m Module,
    requirement: &'m Requirement,
    context: &TemplateValue,
    renderer: &Renderer<'m>,
    diagnostics: &mut Diagnostics,
) {
    let at = SourceSpan::new(&module.manifest, requirement.that.span.clone());
    let holds = match renderer.evaluate(&requirement.that.value, context, &at) {
        Ok(value) => value.is_true(),
        Err(diagnostic) => return diagnostics.push(diagnostic),
    };
    if holds {
        return;
    }
    let message_at = SourceSpan::new(&module.manifest, requirement.message.span.clone());
    let message = match renderer.render_string(&requirement.message.value, context, &message_at) {
        Ok(Rendered::Text(text)) => text,
        Ok(Rendered::Value(value)) => value.to_string(),
        Err(diagnostic) => return diagnostics.push(diagnostic),
    };
    let diagnostic = Diagnostic::new(format!("module `{}`: {message}", module.name));
    let given_at = requirement.setting.as_ref().and_then(|setting| {
        let (section, key) = &setting.value;
        spec.given_setting_span(section, key, None)
    });
    diagnostics.push(match given_at {
        Some(span) => diagnostic.at(&spec.source, &span).note(format!(
            "checked by module `{}` at {}",
            module.name,
            at.display()
        )),
        None => diagnostic.at_location(at.location()).note(format!(
            "the condition `{}` is false for this spec",
            requirement.that.value
        )),
    });
}

pub(super) fn emit_declaration<'m>(
    module: &'m Module,
    declaration: &'m NodeDeclaration,
    scope: &Scope,
    context: &TemplateValue,
    renderer: &Renderer<'m>,
    out: &mut Vec<EmittedNode<'m>>,
    diagnostics: &mut Diagnostics,
) {
    let declared_at = SourceSpan::new(&module.manifest, declaration.span.clone());
    let contexts = match &declaration.for_each {
        None => vec![context.clone()],
        Some(expression) => {
            let at = SourceSpan::new(&module.manifest, expression.span.clone());
            let items = match renderer.evaluate(&expression.value, context, &at) {
                Ok(items) => items,
                Err(diagnostic) => return diagnostics.push(diagnostic),
            };
            match items.try_iter() {
                Ok(iterator) => iterator
                    .map(|item| TemplateContext::with_item(context, item))
                    .collect(),
                Err(_) => {
                    return diagnostics.push(
                        Diagnostic::new(format!(
                            "`for_each` must give a list, but `{}` is {}",
                            expression.value,
                            items.kind()
                        ))
                        .at_location(at.location()),
                    );
                }
            }
        }
    };
    let for_each = declaration.for_each.is_some();
    for (position, item_context) in contexts.into_iter().enumerate() {
        if let Some(when) = &declaration.when {
            let at = SourceSpan::new(&module.manifest, when.span.clone());
            match renderer.evaluate(&when.value, &item_context, &at) {
                Ok(value) if !value.is_true() => continue,
                Ok(_) => {}
                Err(diagnostic) => {
                    diagnostics.push(diagnostic);
                    continue;
                }
            }
        }
        match emit_one(
            module,
            declaration,
            scope,
            &item_context,
            renderer,
            &declared_at,
        ) {
            Ok(mut node) => {
                node.item_position = for_each.then_some(position);
                if declaration.claim.is_some() {
                    node.claim_context = Some(item_context);
                }
                out.push(node);
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
}

fn emit_one<'m>(
    module: &'m Module,
    declaration: &'m NodeDeclaration,
    scope: &Scope,
    context: &TemplateValue,
    renderer: &Renderer<'m>,
    declared_at: &SourceSpan<'m>,
) -> Result<EmittedNode<'m>, Diagnostic> {
    let host = scope.host().unwrap_or_default();
    let mut fields = BTreeMap::new();
    for (key, value) in &declaration.fields {
        render_field(module, key, value, host, context, renderer, &mut fields)?;
    }
    let spec = NodeSpec::from_fields(
        declaration.kind,
        FieldReader::new(fields, TextSource::Inline),
    )
    .map_err(|error| field_diagnostic(module, declaration, &error))?;
    let name = NodeName::new(scope.clone(), declaration.kind, spec.key());
    let rollout = match &declaration.rollout {
        None => None,
        Some(rollout) => {
            let mut rendered = BTreeMap::new();
            for (key, value) in &rollout.fields {
                match render_value(module, value, host, context, renderer)? {
                    // A script that renders blank is not there: a drain only where a peer
                    // takes over, say.
                    Some(Value::String(text)) if text.trim().is_empty() => {}
                    Some(value) => {
                        rendered.insert(key.value.clone(), value);
                    }
                    None => {}
                }
            }
            Some(rendered)
        }
    };
    let mut dependencies = Vec::with_capacity(declaration.deps.len());
    for declared in &declaration.deps {
        let dependency = &declared.reference;
        let at = SourceSpan::new(&module.manifest, dependency.span.clone());
        if let Some(when) = &declared.when {
            let condition_at = SourceSpan::new(&module.manifest, when.span.clone());
            if !renderer
                .evaluate(&when.value, context, &condition_at)?
                .is_true()
            {
                continue;
            }
        }
        let render_key = |key: &'m str| -> Result<String, Diagnostic> {
            match renderer.render_string(key, context, &at)? {
                Rendered::Text(text) => Ok(text),
                Rendered::Value(value) => Ok(value.to_string()),
            }
        };
        let rendered = match &dependency.value {
            DependencyReference::Local {
                kind,
                key,
                optional,
            } => RenderedDependency::Local {
                kind: *kind,
                key: render_key(key)?,
                optional: *optional,
            },
            DependencyReference::Role {
                role,
                kind,
                key,
                optional,
            } => RenderedDependency::Role {
                role: render_key(role)?,
                kind: *kind,
                key: render_key(key)?,
                optional: *optional,
            },
            DependencyReference::Host { host, kind, key } => RenderedDependency::Host {
                host: render_key(host)?,
                kind: *kind,
                key: render_key(key)?,
            },
        };
        dependencies.push(EmittedDependency {
            reference: rendered,
            order_only: declared.order_only,
            at,
        });
    }
    if let NodeSpec::Container(container) = &spec {
        // A container runs its image: depending on it makes a new image replace it.
        let image_field = declaration
            .fields
            .iter()
            .find(|(key, _)| key.value == "image")
            .map_or_else(|| declaration.span.clone(), |(_, value)| value.span.clone());
        dependencies.push(EmittedDependency {
            reference: RenderedDependency::Local {
                kind: NodeKind::Image,
                key: container.image.clone(),
                optional: false,
            },
            order_only: false,
            at: SourceSpan::new(&module.manifest, image_field),
        });
    }
    Ok(EmittedNode {
        name,
        spec,
        dependencies,
        declared_at: declared_at.clone(),
        declaration,
        claim_context: None,
        item_position: None,
        rollout,
    })
}

/// Renders one declared field into `fields`. A `template` field becomes `content`, the
/// rendered module file; in nested tables too (an image's files).
fn render_field<'m>(
    module: &'m Module,
    key: &'m Located<String>,
    value: &'m Located<DeclaredValue>,
    host: &str,
    context: &TemplateValue,
    renderer: &Renderer<'m>,
    fields: &mut BTreeMap<String, Value>,
) -> Result<(), Diagnostic> {
    let at = SourceSpan::new(&module.manifest, value.span.clone());
    if key.value == TEMPLATE_FIELD {
        let DeclaredValue::String(path) = &value.value else {
            return Err(Diagnostic::new("`template` must name a file of the module")
                .at_location(at.location()));
        };
        let Some(file) = module.templates.get(path) else {
            return Err(
                Diagnostic::new(format!("module `{}` has no file `{path}`", module.name))
                    .at_location(at.location())
                    .maybe_hint(did_you_mean(
                        path,
                        module.templates.keys().map(String::as_str),
                    )),
            );
        };
        if fields.contains_key("content") {
            return Err(
                Diagnostic::new("a node takes `template` or `content`, not both")
                    .at_location(at.location()),
            );
        }
        let text = renderer.render_file(file, host, context, &at)?;
        fields.insert("content".to_string(), Value::Text(text));
        return Ok(());
    }
    if let Some(rendered) = render_value(module, value, host, context, renderer)? {
        fields.insert(key.value.clone(), rendered);
    }
    Ok(())
}

fn render_value<'m>(
    module: &'m Module,
    value: &'m Located<DeclaredValue>,
    host: &str,
    context: &TemplateValue,
    renderer: &Renderer<'m>,
) -> Result<Option<Value>, Diagnostic> {
    let at = SourceSpan::new(&module.manifest, value.span.clone());
    Ok(Some(match &value.value {
        DeclaredValue::String(text) => match renderer.render_string(text, context, &at)? {
            Rendered::Text(text) => Value::String(text),
            Rendered::Value(result) => {
                return to_lock_value(&result)
                    .map_err(|message| Diagnostic::new(message).at_location(at.location()));
            }
        },
        DeclaredValue::Integer(number) => Value::Integer(*number),
        DeclaredValue::Boolean(flag) => Value::Bool(*flag),
        DeclaredValue::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(rendered) = render_value(module, item, host, context, renderer)? {
                    out.push(rendered);
                }
            }
            Value::List(out)
        }
        DeclaredValue::Table(entries) => {
            let mut out = BTreeMap::new();
            for (key, item) in entries {
                render_field(module, key, item, host, context, renderer, &mut out)?;
            }
            Value::Table(out)
        }
    }))
}

fn field_diagnostic(
    module: &Module,
    declaration: &NodeDeclaration,
    error: &FieldError,
) -> Diagnostic {
    let field = error.field();
    let span = declaration
        .fields
        .iter()
        .find(|(key, _)| key.value == field || (field == "content" && key.value == TEMPLATE_FIELD))
        .map_or_else(|| declaration.span.clone(), |(key, _)| key.span.clone());
    let mut diagnostic = Diagnostic::new(format!(
        "a {} node of module `{}`: {error}",
        declaration.kind, module.name
    ))
    .at(&module.manifest, &span);
    match error {
        FieldError::Unknown { field, expected } => {
            let mut candidates: Vec<&str> = expected.clone();
            candidates.extend(["when", "for_each", "deps"]);
            candidates.extend(crate::module::barrier_declaration::BARRIER_KEYS);
            if declaration.kind == NodeKind::File {
                candidates.push(TEMPLATE_FIELD);
            }
            diagnostic = diagnostic.maybe_hint(did_you_mean(field, candidates));
        }
        FieldError::Missing { field } if field == "content" => {
            diagnostic =
                diagnostic.hint("add `template = \"file-of-the-module\"` or `content = \"...\"`");
        }
        _ => {}
    }
    diagnostic
}
