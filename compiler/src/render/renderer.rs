use std::cell::RefCell;
use std::collections::HashMap;

use cairn_lockfiles::Text;
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Expression, Template, UndefinedBehavior, Value as TemplateValue};

use crate::diagnostic::{CompileError, Diagnostic, Diagnostics, Location, SourceSpan};
use crate::module::library::ModuleLibrary;
use crate::source_file::SourceFile;

/// What a templated string of a manifest renders to.
#[derive(Debug)]
pub enum Rendered {
    /// `"{{ expr }}"` alone: the expression's value, with its type.
    Value(TemplateValue),
    /// Any other string: text.
    Text(String),
}

/// An environment holding every module template, each named by its origin
/// (`builtin:modules/haproxy/haproxy.cfg.j2`), so errors name the file.
///
/// Undefined variables are errors: a typo in a template fails the compile, it does not
/// render an empty string into a config file. Besides minijinja's own tests, templates
/// have `ip_address`, `ip_network` and `in_networks` (`render/networks.rs`); besides its
/// filters, `sh_quote`.
pub fn build_environment(library: &ModuleLibrary) -> Result<Environment<'_>, CompileError> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    environment.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    // `address is ip_address`: what a module needs where a program takes no host name
    // (Docker's `dns`, Consul's bind address).
    environment.add_test("ip_address", |value: &str| {
        value.parse::<std::net::IpAddr>().is_ok()
    });
    environment.add_test("ip_network", |value: &str| {
        crate::render::networks::is_ip_network(value)
    });
    environment.add_test("in_networks", |value: &str, networks: Vec<String>| {
        crate::render::networks::is_in_networks(value, &networks)
    });
    // `{{ value | sh_quote }}`: a value as shell words, where a script reads it.
    environment.add_filter(
        crate::render::shell_quote::FILTER,
        crate::render::shell_quote::sh_quote,
    );
    let mut diagnostics = Diagnostics::default();
    for module in library.modules() {
        for file in module.templates.values() {
            if let Err(error) = environment.add_template(&file.origin, &file.text) {
                diagnostics.push(template_diagnostic(&error, Some(file), None));
            }
        }
    }
    diagnostics.finish(environment)
}

/// Renders templates and expressions, compiling each once and rendering a template once
/// per distinct input it reads.
pub struct Renderer<'env> {
    environment: &'env Environment<'env>,
    sources: HashMap<&'env str, &'env SourceFile>,
    expressions: RefCell<HashMap<&'env str, Expression<'env, 'env>>>,
    inline_templates: RefCell<HashMap<&'env str, Template<'env, 'env>>>,
    /// Per template: does it read `host` or `item`?
    host_dependent: RefCell<HashMap<&'env str, bool>>,
    /// Rendered file templates by (template, host or "" when host-independent, item).
    rendered: RefCell<HashMap<(&'env str, String, String), Text>>,
}

impl std::fmt::Debug for Renderer<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Renderer").finish_non_exhaustive()
    }
}

impl<'env> Renderer<'env> {
    pub fn new(environment: &'env Environment<'env>, library: &'env ModuleLibrary) -> Self {
        let sources = library
            .modules()
            .iter()
            .flat_map(|module| module.templates.values())
            .map(|file| (file.origin.as_str(), file))
            .collect();
        Self {
            environment,
            sources,
            expressions: RefCell::default(),
            inline_templates: RefCell::default(),
            host_dependent: RefCell::default(),
            rendered: RefCell::default(),
        }
    }

    /// A renderer of the same environment with caches of its own, for another thread: a
    /// renderer's caches are not shared.
    pub fn sibling(&self) -> Self {
        Self {
            environment: self.environment,
            sources: self.sources.clone(),
            expressions: RefCell::default(),
            inline_templates: RefCell::default(),
            host_dependent: RefCell::default(),
            rendered: RefCell::default(),
        }
    }

    /// Renders a module file, sharing the text between hosts when the template reads
    /// neither `host` nor `item`.
    pub fn render_file(
        &self,
        file: &'env SourceFile,
        host: &str,
        context: &TemplateValue,
        used_from: &SourceSpan<'_>,
    ) -> Result<Text, Diagnostic> {
        let name = file.origin.as_str();
        let template = self.environment.get_template(name).map_err(|error| {
            template_diagnostic(&error, Some(file), Some(&used_from.location()))
        })?;
        let depends_on_host = *self
            .host_dependent
            .borrow_mut()
            .entry(name)
            .or_insert_with(|| {
                // What an included, imported or extended template reads is not among this
                // one's variables: such a template is rendered per host, to be safe.
                let composes = ["include", "import", "extends"]
                    .iter()
                    .any(|keyword| file.text.contains(keyword));
                let variables = template.undeclared_variables(false);
                composes || variables.contains("host") || variables.contains("item")
            });
        let key = if depends_on_host {
            let item = context
                .get_attr("item")
                .ok()
                .filter(|item| !item.is_undefined())
                .map(|item| format!("{item:?}"))
                .unwrap_or_default();
            (name, host.to_string(), item)
        } else {
            (name, String::new(), String::new())
        };
        if let Some(text) = self.rendered.borrow().get(&key) {
            return Ok(text.clone());
        }
        let output = template
            .render(context)
            .map_err(|error| self.error(&error, used_from))?;
        let text = Text::new(output);
        self.rendered.borrow_mut().insert(key, text.clone());
        Ok(text)
    }

    /// Renders a templated string of a manifest. A string with no template syntax is
    /// returned as it is, without a render.
    pub fn render_string(
        &self,
        text: &'env str,
        context: &TemplateValue,
        location: &SourceSpan<'_>,
    ) -> Result<Rendered, Diagnostic> {
        // A byte scan first: most strings of a manifest hold no `{` at all.
        if !text.contains('{') || (!text.contains("{{") && !text.contains("{%")) {
            return Ok(Rendered::Text(text.to_string()));
        }
        if let Some(expression) = sole_expression(text) {
            return self
                .evaluate(expression, context, location)
                .map(Rendered::Value);
        }
        let mut templates = self.inline_templates.borrow_mut();
        let template = match templates.get(text) {
            Some(template) => template,
            None => {
                let template = self
                    .environment
                    .template_from_str(text)
                    .map_err(|error| self.error(&error, location))?;
                templates.entry(text).or_insert(template)
            }
        };
        template
            .render(context)
            .map(|output| Rendered::Text(without_spare_room(output)))
            .map_err(|error| self.error(&error, location))
    }

    /// Evaluates an expression (`when`, `for_each`, or a `"{{ expr }}"` field).
    pub fn evaluate(
        &self,
        expression: &'env str,
        context: &TemplateValue,
        location: &SourceSpan<'_>,
    ) -> Result<TemplateValue, Diagnostic> {
        let mut expressions = self.expressions.borrow_mut();
        let compiled = match expressions.get(expression) {
            Some(compiled) => compiled,
            None => {
                let compiled = self
                    .environment
                    .compile_expression(expression)
                    .map_err(|error| self.error(&error, location))?;
                expressions.entry(expression).or_insert(compiled)
            }
        };
        let value = compiled
            .eval(context)
            .map_err(|error| self.error(&error, location))?;
        if value.is_undefined() {
            return Err(Diagnostic::new(format!("`{expression}` is undefined"))
                .at_location(location.location())
                .hint("check the spelling against the settings sections and `host`, `hosts`, `roles`, `cluster`"));
        }
        Ok(value)
    }

    fn error(&self, error: &minijinja::Error, fallback: &SourceSpan<'_>) -> Diagnostic {
        let source = error
            .name()
            .and_then(|name| self.sources.get(name).copied());
        template_diagnostic(error, source, Some(&fallback.location()))
    }
}

/// A rendered string in a buffer of its own length. minijinja renders into one of twice
/// its template's length, rounded up to a power of two, and what a node's fields render
/// is held to the end of the compile: at ten thousand hosts, a quarter of a million
/// strings in 92 MB of buffers. A copy, not `shrink_to_fit`: mimalloc leaves a block
/// where it is when it shrinks by less than half.
fn without_spare_room(rendered: String) -> String {
    if rendered.capacity() == rendered.len() {
        return rendered;
    }
    rendered.as_str().to_owned()
}

/// `"{{ expr }}"` and nothing else: the expression.
fn sole_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim())
}

fn template_diagnostic(
    error: &minijinja::Error,
    source: Option<&SourceFile>,
    fallback: Option<&Location>,
) -> Diagnostic {
    let detail = error.detail().map_or_else(
        || error.kind().to_string(),
        |detail| format!("{}: {detail}", error.kind()),
    );
    let mut diagnostic = Diagnostic::new(format!("template error: {detail}"));
    match (source, error.line()) {
        (Some(source), Some(line)) => {
            diagnostic = diagnostic.at_location(Location::of_line(source, line));
            if let Some(fallback) = fallback {
                diagnostic = diagnostic.note(format!(
                    "rendered for {}:{}:{}",
                    fallback.origin, fallback.line, fallback.column
                ));
            }
        }
        _ => {
            if let Some(fallback) = fallback {
                diagnostic = diagnostic.at_location(fallback.clone());
            }
        }
    }
    diagnostic
}

#[cfg(test)]
mod tests {
    use super::sole_expression;

    #[test]
    fn a_sole_expression_keeps_its_type_and_anything_else_renders_to_text() {
        assert_eq!(
            sole_expression("{{ zookeeper.client_port }}"),
            Some("zookeeper.client_port")
        );
        assert_eq!(sole_expression("port {{ zookeeper.client_port }}"), None);
        assert_eq!(sole_expression("{{ a }}:{{ b }}"), None);
        assert_eq!(sole_expression("{{ host.name }}\n"), None);
    }
}
