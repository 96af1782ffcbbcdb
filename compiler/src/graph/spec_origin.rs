//! An error found while rendering a module points into the module (its manifest's line, its
//! template's); what caused it is usually a value of the spec. These notes name the spec's
//! places: the keys the spec gives that the failing declaration reads, and the host it was
//! rendered for.

use crate::diagnostic::SourceSpan;
use crate::module::manifest::Module;
use crate::module::node_declaration::{DeclaredValue, NodeDeclaration};
use crate::spec::{ClusterSpec, HostSpec};

/// Notes naming the spec's places behind `declaration` of `module`, rendered for `host`.
pub fn spec_notes(
    spec: &ClusterSpec,
    module: &Module,
    declaration_text: &str,
    host: Option<&HostSpec>,
) -> Vec<String> {
    let texts = declaration_texts(module, declaration_text);
    let mut notes: Vec<String> = module
        .settings
        .iter()
        .filter_map(|schema| {
            let section = spec.sections.get(&schema.section)?;
            let span = section.given.get(&schema.key)?;
            let reference = format!("{}.{}", schema.section, schema.key);
            texts.iter().any(|text| text.contains(&reference)).then(|| {
                format!(
                    "the spec gives `{}` of [{}] at {}",
                    schema.key,
                    schema.section,
                    SourceSpan::new(&spec.source, span.clone()).display()
                )
            })
        })
        .collect();
    if let Some(host) = host {
        notes.push(format!(
            "rendered for host `{}`, declared at {}",
            host.name,
            SourceSpan::new(&spec.source, host.span.clone()).display()
        ));
    }
    notes
}

/// The declaration's own text, and the text of every module template it names.
fn declaration_texts<'m>(module: &'m Module, declaration_text: &'m str) -> Vec<&'m str> {
    let mut texts = vec![declaration_text];
    texts.extend(
        module
            .templates
            .iter()
            .filter(|(path, _)| declaration_text.contains(path.as_str()))
            .map(|(_, file)| &*file.text),
    );
    texts
}

/// The templated text of `declaration`: its condition, its `for_each` and every string of
/// its fields (a template's path among them).
pub fn declaration_text(declaration: &NodeDeclaration) -> String {
    let mut text = String::new();
    for part in declaration.when.iter().chain(&declaration.for_each) {
        text.push_str(&part.value);
        text.push('\n');
    }
    for (_, value) in &declaration.fields {
        push_strings(&value.value, &mut text);
    }
    text
}

fn push_strings(value: &DeclaredValue, text: &mut String) {
    match value {
        DeclaredValue::String(string) => {
            text.push_str(string);
            text.push('\n');
        }
        DeclaredValue::List(items) => {
            for item in items {
                push_strings(&item.value, text);
            }
        }
        DeclaredValue::Table(entries) => {
            for (_, item) in entries {
                push_strings(&item.value, text);
            }
        }
        DeclaredValue::Integer(_) | DeclaredValue::Boolean(_) => {}
    }
}
