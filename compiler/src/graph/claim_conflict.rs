//! Two modules wanting one thing on one host (a port, above all), said in the operator's
//! terms: what is wanted, by whom, and the spec's settings that decide it, at their lines.
//!
//! Port checks are named by the port alone (`port-free:8080`), so HAProxy's frontend for a
//! service and the service itself on one host emit the same node. Where both declarations
//! have a `claim` (`module/claim.rs`), its templates are rendered here, in each node's own
//! context, and the error names the settings to change instead of the node.

use crate::diagnostic::{Diagnostic, SourceSpan};
use crate::graph::emit::EmittedNode;
use crate::module::setting::SettingValue;
use crate::render::{Rendered, Renderer};
use crate::spec::ClusterSpec;

/// One side of a clash, rendered.
struct Claimant<'a> {
    what: String,
    by: String,
    setting: Option<SettingPlace<'a>>,
}

/// A setting that decides a claim, and where it comes from.
struct SettingPlace<'a> {
    section: String,
    key: String,
    /// Where the spec gives it; `None`: its default.
    given_at: Option<SourceSpan<'a>>,
}

/// The error for `second` emitting the node `first` emitted, when both declare a claim.
pub fn conflict_diagnostic<'m>(
    spec: &ClusterSpec,
    renderer: &Renderer<'m>,
    first: &EmittedNode<'m>,
    second: &EmittedNode<'m>,
) -> Option<Diagnostic> {
    let first_claim = claimant(spec, renderer, first)?;
    let second_claim = claimant(spec, renderer, second)?;
    let host = first.name.scope.host().unwrap_or("the cluster");
    let mut diagnostic = Diagnostic::new(format!(
        "{} on {host} is wanted twice: by {} and by {}",
        first_claim.what, first_claim.by, second_claim.by
    ));
    let given = [&second_claim, &first_claim]
        .into_iter()
        .find_map(|claimant| claimant.setting.as_ref()?.given_at.as_ref());
    diagnostic = match given {
        Some(at) => diagnostic.at_location(at.location()),
        None => diagnostic.at_location(second.declared_at.location()),
    };
    for claimant in [&first_claim, &second_claim] {
        diagnostic = diagnostic.note(describe(spec, claimant));
    }
    let fixes: Vec<String> = [&first_claim, &second_claim]
        .into_iter()
        .filter_map(|claimant| claimant.setting.as_ref())
        .map(|place| fix(spec, place))
        .collect();
    let hint = if fixes.is_empty() {
        "run them on different hosts".to_string()
    } else {
        format!("{}; or run them on different hosts", fixes.join(", or "))
    };
    Some(diagnostic.hint(hint))
}

/// A node's claim, rendered in its context; `None` where it has none or it does not render.
fn claimant<'a, 'm>(
    spec: &'a ClusterSpec,
    renderer: &Renderer<'m>,
    node: &EmittedNode<'m>,
) -> Option<Claimant<'a>> {
    let declaration: &'m crate::module::node_declaration::NodeDeclaration = node.declaration;
    let claim = declaration.claim.as_ref()?;
    let context = node.claim_context.as_ref()?;
    let manifest = node.declared_at.source;
    let render = |template: &'m crate::toml_reader::Located<String>| -> Option<String> {
        let at = SourceSpan::new(manifest, template.span.clone());
        match renderer.render_string(&template.value, context, &at).ok()? {
            Rendered::Text(text) => Some(text),
            Rendered::Value(value) => Some(value.to_string()),
        }
    };
    let setting = match &claim.setting {
        None => None,
        Some(template) => {
            let text = render(template)?;
            let (section, key) = text.split_once('.')?;
            // The element of the list the node was declared for, where it is that list.
            let position = node
                .declaration
                .for_each
                .as_ref()
                .filter(|for_each| for_each.value.trim() == text)
                .and(node.item_position);
            let given_at = spec
                .given_setting_span(section, key, position)
                .map(|span| SourceSpan::new(&spec.source, span));
            Some(SettingPlace {
                section: section.to_string(),
                key: key.to_string(),
                given_at,
            })
        }
    };
    Some(Claimant {
        what: render(&claim.what)?,
        by: render(&claim.by)?,
        setting,
    })
}

/// "HAProxy's `marathon` frontend: `services` in [haproxy], at cluster.toml:95:13", or
/// "Marathon: `http_port` in [marathon], its default 8080 (the spec does not set it)".
fn describe(spec: &ClusterSpec, claimant: &Claimant<'_>) -> String {
    let Some(place) = &claimant.setting else {
        return format!("wanted by {}", claimant.by);
    };
    let setting = format!("`{}` in [{}]", place.key, place.section);
    match &place.given_at {
        Some(at) => format!("{}: {setting}, at {}", claimant.by, at.display()),
        None => {
            let default = spec
                .sections
                .get(&place.section)
                .and_then(|values| values.values.get(&place.key))
                .map(value_text)
                .unwrap_or_default();
            format!(
                "{}: {setting}, its default{default} (the spec does not set it)",
                claimant.by
            )
        }
    }
}

/// What to change of a setting: the spec's text of it where it gives it, else the key to add.
fn fix(spec: &ClusterSpec, place: &SettingPlace<'_>) -> String {
    match &place.given_at {
        Some(at) => format!(
            "change {} in `{}` of [{}]",
            &spec.source.text[at.span.clone()],
            place.key,
            place.section
        ),
        None => format!("add `{} = ...` to [{}]", place.key, place.section),
    }
}

fn value_text(value: &SettingValue) -> String {
    match value {
        SettingValue::Integer(number) => format!(" {number}"),
        SettingValue::String(text) => format!(" \"{text}\""),
        _ => String::new(),
    }
}
