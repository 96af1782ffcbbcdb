//! An error found while rendering a module points into the module (its manifest's line, its
//! template's); what caused it is usually a value of the spec. These notes name the spec's
//! places: the keys the spec gives that the failing declaration reads, and the host it was
//! rendered for.

use crate::diagnostic::SourceSpan;
use crate::module::manifest::Module;
use crate::module::node_declaration::NodeDeclaration;
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

/// The text of `declaration` in its module's manifest.
pub fn declaration_text<'m>(module: &'m Module, declaration: &NodeDeclaration) -> &'m str {
    module
        .manifest
        .text
        .get(declaration.span.clone())
        .unwrap_or_default()
}
