use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::content::Text;
use crate::nodes::fields::{FieldError, FieldReader, format_mode, parse_mode};
use crate::nodes::probe::absolute_path;
use crate::value::Value;

/// A file placed in an image's top layer (an entrypoint script, a config template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    pub path: String,
    pub mode: u32,
    pub content: Text,
}

/// An image definition: a base, packages, files and the image config. Built once per id on
/// the control host. Its Dockerfile is derived from the definition, written into the lock for
/// review, and covered by the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageNode {
    pub name: String,
    pub base: String,
    /// Sorted, without duplicates.
    pub packages: Vec<String>,
    /// Sorted by path.
    pub files: Vec<ImageFile>,
    pub env: BTreeMap<String, String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub ports: Vec<String>,
    pub volumes: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub dockerfile: Text,
}

impl ImageNode {
    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        let mut out = vec![
            ("name", self.name.as_str().into()),
            ("base", self.base.as_str().into()),
        ];
        if !self.packages.is_empty() {
            out.push(("packages", Value::strings(&self.packages)));
        }
        if !self.env.is_empty() {
            out.push(("env", Value::string_table(&self.env)));
        }
        if let Some(user) = &self.user {
            out.push(("user", user.as_str().into()));
        }
        if let Some(workdir) = &self.workdir {
            out.push(("workdir", workdir.as_str().into()));
        }
        if !self.ports.is_empty() {
            out.push(("ports", Value::strings(&self.ports)));
        }
        if !self.volumes.is_empty() {
            out.push(("volumes", Value::strings(&self.volumes)));
        }
        if !self.entrypoint.is_empty() {
            out.push(("entrypoint", Value::strings(&self.entrypoint)));
        }
        if !self.cmd.is_empty() {
            out.push(("cmd", Value::strings(&self.cmd)));
        }
        if !self.files.is_empty() {
            let files = self
                .files
                .iter()
                .map(|file| {
                    Value::Table(BTreeMap::from([
                        ("path".to_string(), Value::String(file.path.clone())),
                        ("mode".to_string(), Value::String(format_mode(file.mode))),
                        ("content".to_string(), Value::Text(file.content.clone())),
                    ]))
                })
                .collect();
            out.push(("files", Value::List(files)));
        }
        out.push(("dockerfile", Value::Text(self.dockerfile.clone())));
        out
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let name = fields.string("name")?;
        let base = fields.string("base")?;
        let mut packages = fields.strings("packages")?;
        packages.sort();
        packages.dedup();
        let mut files = fields.tables("files", |item| {
            let path = absolute_path(item.string("path")?, "path")?;
            let mode = match item.optional_string("mode")? {
                Some(text) => parse_mode("mode", &text)?,
                None => 0o644,
            };
            Ok(ImageFile {
                path,
                mode,
                content: item.text("content")?,
            })
        })?;
        files.sort_by(|left, right| left.path.cmp(&right.path));
        if let Some(pair) = files.windows(2).find(|pair| pair[0].path == pair[1].path) {
            return Err(FieldError::Invalid {
                field: "files".to_string(),
                message: format!("`{}` is listed twice", pair[0].path),
            });
        }
        let mut image = Self {
            name,
            base,
            packages,
            files,
            env: fields.string_table("env")?,
            user: fields.optional_string("user")?,
            workdir: fields.optional_string("workdir")?,
            ports: fields.strings("ports")?,
            volumes: fields.strings("volumes")?,
            entrypoint: fields.strings("entrypoint")?,
            cmd: fields.strings("cmd")?,
            dockerfile: Text::new(""),
        };
        image.dockerfile = Text::new(image.render_dockerfile());
        if fields.raw("dockerfile").is_some_and(|recorded| {
            !matches!(recorded, Value::Text(ref text) if text == &image.dockerfile)
                && !matches!(recorded, Value::String(ref hash) if *hash == image.dockerfile.hash().to_string())
        }) {
            return Err(FieldError::Invalid {
                field: "dockerfile".to_string(),
                message: "the recorded Dockerfile is not the one this image definition renders"
                    .to_string(),
            });
        }
        Ok(image)
    }

    /// The standard Dockerfile for this definition: what a reviewer reads, and what
    /// `docker build` uses where a build host can reach the package repository. The build
    /// context holds each file under `files/<path>`.
    pub fn render_dockerfile(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Rendered by cairn from the image definition `{}`. Do not edit.",
            self.name
        );
        let _ = writeln!(out, "FROM {}", self.base);
        if !self.packages.is_empty() {
            out.push_str("RUN apt-get update \\\n");
            out.push_str(" && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\\n");
            for package in &self.packages {
                let _ = writeln!(out, "      {package} \\");
            }
            out.push_str(" && rm -rf /var/lib/apt/lists/*\n");
        }
        // COPY keeps the mode each file has in the build context (the builder writes it
        // there): no `--chmod`, which the classic builder does not know.
        for file in &self.files {
            let _ = writeln!(out, "COPY files{} {}", file.path, file.path);
        }
        for (key, value) in &self.env {
            let _ = writeln!(out, "ENV {key}={}", json_string(value));
        }
        for port in &self.ports {
            let _ = writeln!(out, "EXPOSE {port}");
        }
        if !self.volumes.is_empty() {
            let _ = writeln!(out, "VOLUME {}", json_array(&self.volumes));
        }
        if let Some(workdir) = &self.workdir {
            let _ = writeln!(out, "WORKDIR {workdir}");
        }
        if let Some(user) = &self.user {
            let _ = writeln!(out, "USER {user}");
        }
        if !self.entrypoint.is_empty() {
            let _ = writeln!(out, "ENTRYPOINT {}", json_array(&self.entrypoint));
        }
        if !self.cmd.is_empty() {
            let _ = writeln!(out, "CMD {}", json_array(&self.cmd));
        }
        out
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

fn json_array(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|item| json_string(item)).collect();
    format!("[{}]", parts.join(", "))
}
