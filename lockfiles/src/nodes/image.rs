use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::content::Text;
use crate::nodes::fields::{FieldError, FieldReader, format_mode, parse_mode};
use crate::nodes::image_artifact::{ArtifactPlacement, ImageArtifact};
use crate::nodes::image_healthcheck::ImageHealthcheck;
use crate::nodes::image_setup::ImageSetup;
use crate::nodes::layer_compression::LayerCompression;
use crate::nodes::package_pin::PackagePin;
use crate::nodes::written_path::written_path;
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
    /// What `packages` resolved to at compile time, when the spec names package sources
    /// (`[packages] sources`); `None` leaves the versions to whoever builds the image.
    pub pins: Option<ImagePins>,
    /// Pinned downloads (software Debian does not package), sorted by path.
    pub artifacts: Vec<ImageArtifact>,
    /// Sorted by path.
    pub files: Vec<ImageFile>,
    pub env: BTreeMap<String, String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub ports: Vec<String>,
    pub volumes: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// What Docker runs in its containers to tell whether they are healthy.
    pub healthcheck: Option<Box<ImageHealthcheck>>,
    /// What the packages' maintainer scripts would have made that the image needs (boxed,
    /// as the health check: most images have little of either, and every node is as large
    /// as the largest kind).
    pub setup: Box<ImageSetup>,
    /// How cairn's builder compresses its layers (`[images] compression`).
    pub compression: LayerCompression,
    /// The cluster's registry (`host:port`), which apply pushes the image to and the hosts
    /// pull it from by digest; without one, or while it does not answer, each host is sent
    /// the image over its own transport.
    pub registry: Option<String>,
    pub dockerfile: Text,
}

/// An image's packages pinned: the closure of its requested packages, resolved by `cairn
/// compile` against the package sources, and what it was resolved against, which tells
/// the next compile whether the pins still answer the request. Written as the image's
/// `architecture`, `sources` and `pins` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePins {
    /// The Debian architecture resolved for (`amd64`).
    pub architecture: String,
    /// The sources' lines as the spec gives them (`"URL SUITE COMPONENT..."`), whitespace
    /// collapsed, in the spec's order.
    pub sources: Vec<String>,
    /// Sorted by name, one per name, never empty.
    pub packages: Vec<PackagePin>,
}

impl ImageNode {
    /// Pins the image's packages, or takes the pins away with `None`, and renders its
    /// Dockerfile again. Pins with no package are no pins.
    pub fn set_pins(&mut self, pins: Option<ImagePins>) {
        self.pins = pins
            .map(|mut pins| {
                pins.packages
                    .sort_by(|left, right| left.name.cmp(&right.name));
                pins.packages
                    .dedup_by(|left, right| left.name == right.name);
                pins
            })
            .filter(|pins| !pins.packages.is_empty());
        self.dockerfile = Text::new(self.render_dockerfile());
    }

    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        let mut out = vec![
            ("name", self.name.as_str().into()),
            ("base", self.base.as_str().into()),
        ];
        if !self.packages.is_empty() {
            out.push(("packages", Value::strings(&self.packages)));
        }
        if let Some(pins) = &self.pins {
            out.push(("architecture", pins.architecture.as_str().into()));
            out.push(("sources", Value::strings(&pins.sources)));
            let packages = pins.packages.iter().map(PackagePin::input).collect();
            out.push(("pins", Value::List(packages)));
        }
        if !self.artifacts.is_empty() {
            let artifacts = self.artifacts.iter().map(ImageArtifact::input).collect();
            out.push(("artifacts", Value::List(artifacts)));
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
        if let Some(healthcheck) = &self.healthcheck {
            out.push(("healthcheck", healthcheck.input()));
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
        self.setup.inputs(&mut out);
        out.push(("compression", self.compression.name().into()));
        out.push((
            "compression_level",
            Value::Integer(self.compression.level()),
        ));
        if let Some(registry) = &self.registry {
            out.push(("registry", registry.as_str().into()));
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
        let pins = ImagePins::from_fields(fields)?;
        let mut files = fields.tables("files", |item| {
            let path = written_path(item.string("path")?, "path")?;
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
        let mut artifacts = fields.tables("artifacts", ImageArtifact::from_fields)?;
        // The build context holds each artifact under its checksum: one file placed twice
        // would be one entry of the context, the last placement winning.
        let mut checksums: Vec<&str> = artifacts
            .iter()
            .map(|artifact| artifact.sha256.as_str())
            .collect();
        checksums.sort_unstable();
        if let Some(pair) = checksums.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(FieldError::Invalid {
                field: "artifacts".to_string(),
                message: format!(
                    "two artifacts have the sha256 {}: list each download once",
                    pair[0]
                ),
            });
        }
        artifacts.sort_by(|left, right| left.path.cmp(&right.path));
        if let Some(pair) = artifacts
            .windows(2)
            .find(|pair| pair[0].path == pair[1].path)
        {
            return Err(FieldError::Invalid {
                field: "artifacts".to_string(),
                message: format!("two artifacts are placed at `{}`", pair[0].path),
            });
        }
        let mut image = Self {
            name,
            base,
            packages,
            pins,
            artifacts,
            files,
            env: fields.string_table("env")?,
            user: fields.optional_string("user")?,
            workdir: fields.optional_string("workdir")?,
            ports: fields.strings("ports")?,
            volumes: fields.strings("volumes")?,
            entrypoint: fields.strings("entrypoint")?,
            cmd: fields.strings("cmd")?,
            healthcheck: fields
                .optional_table("healthcheck", ImageHealthcheck::from_fields)?
                .map(Box::new),
            setup: Box::new(ImageSetup::from_fields(fields)?),
            registry: match fields.optional_string("registry")? {
                Some(address)
                    if address.is_empty()
                        || address.chars().any(|character| {
                            character.is_whitespace() || character.is_control() || character == '/'
                        }) =>
                {
                    return Err(FieldError::Invalid {
                        field: "registry".to_string(),
                        message: format!("{address:?} is not a registry's `host:port`"),
                    });
                }
                registry => registry,
            },
            compression: {
                let name = fields.optional_string("compression")?;
                let level = fields.optional_integer::<i64>("compression_level")?;
                LayerCompression::new(name.as_deref().unwrap_or("gzip"), level).map_err(
                    |message| FieldError::Invalid {
                        field: "compression".to_string(),
                        message,
                    },
                )?
            },
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
    /// `docker build` uses. The build context holds each file under `files/<path>`, each
    /// artifact under `artifacts/<sha256>`, and each pinned package as
    /// `packages/<name>.deb`; an image without pins installs its packages from the base's
    /// own sources.
    pub fn render_dockerfile(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Rendered by cairn from the image definition `{}`. Do not edit.",
            self.name
        );
        let _ = writeln!(out, "FROM {}", self.base);
        if let Some(users) = self.setup.dockerfile_users() {
            out.push_str("# The image's system users, at fixed ids, before its packages' scripts add them.\n");
            out.push_str(&users);
        }
        if let Some(pins) = &self.pins {
            // The whole closure at its pinned versions, so that apt chooses nothing; the
            // base may hold other versions of some (libc6), which the pins replace.
            let _ = writeln!(
                out,
                "# {} with {} dependencies: {} packages pinned by `cairn compile` for {}",
                self.packages.join(", "),
                if self.packages.len() == 1 {
                    "its"
                } else {
                    "their"
                },
                pins.packages.len(),
                pins.architecture
            );
            // The pinned .debs themselves, fetched and checked against their sha256 by
            // cairn into the build context (`packages/<name>.deb`): the repository is not
            // asked, so a version it has since dropped still installs, and nothing but the
            // pinned bytes can.
            for package in &pins.packages {
                let _ = writeln!(out, "#   {}={}", package.name, package.version);
            }
            out.push_str("COPY packages/ /var/cache/cairn-packages/\n");
            out.push_str("RUN DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --allow-downgrades /var/cache/cairn-packages/*.deb \\\n");
            out.push_str(" && rm -rf /var/cache/cairn-packages /var/lib/apt/lists/*\n");
        } else if !self.packages.is_empty() {
            out.push_str("RUN apt-get update \\\n");
            out.push_str(" && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\\n");
            for package in &self.packages {
                let _ = writeln!(out, "      {package} \\");
            }
            out.push_str(" && rm -rf /var/lib/apt/lists/*\n");
        }
        if let Some(commands) = self.setup.dockerfile_links_and_directories() {
            out.push_str(
                "# The links and folders the image needs, as cairn's own builder makes them.\n",
            );
            out.push_str(&commands);
        }
        // Artifacts sit in the build context under their checksum, fetched and checked by
        // cairn (an archive already unpacked there), so the Dockerfile needs no tool of the
        // base image to place them.
        for artifact in &self.artifacts {
            let _ = writeln!(out, "# {} (sha256 {})", artifact.url, artifact.sha256);
            match artifact.placement {
                ArtifactPlacement::File { .. } => {
                    let _ = writeln!(out, "COPY {} {}", artifact.context_path(), artifact.path);
                }
                ArtifactPlacement::Unpack { .. } => {
                    let _ = writeln!(
                        out,
                        "COPY {}/ {}/",
                        artifact.context_path(),
                        artifact.path.trim_end_matches('/')
                    );
                }
            }
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
        if let Some(healthcheck) = &self.healthcheck {
            out.push_str(&healthcheck.dockerfile_line());
        }
        out
    }
}

impl ImagePins {
    /// Reads an image's `architecture`, `sources` and `pins` fields (all three or none),
    /// checked as the lockfile reader checks them; the other fields are left to `fields`.
    pub fn from_fields(fields: &mut FieldReader<'_>) -> Result<Option<ImagePins>, FieldError> {
        read_pins(fields)
    }
}

/// The `architecture`, `sources` and `pins` fields: all three or none.
fn read_pins(fields: &mut FieldReader<'_>) -> Result<Option<ImagePins>, FieldError> {
    let architecture = fields.optional_string("architecture")?;
    let sources = fields.strings("sources")?;
    let mut packages = fields.tables("pins", PackagePin::from_fields)?;
    let invalid = |field: &str, message: &str| FieldError::Invalid {
        field: field.to_string(),
        message: message.to_string(),
    };
    let Some(architecture) = architecture else {
        if !packages.is_empty() {
            return Err(invalid(
                "architecture",
                "pinned packages need the architecture they were resolved for",
            ));
        }
        if !sources.is_empty() {
            return Err(invalid(
                "sources",
                "`sources` records what `pins` were resolved against, and there are no pins",
            ));
        }
        return Ok(None);
    };
    if packages.is_empty() {
        return Err(invalid(
            "pins",
            "`architecture` comes with the packages pinned for it, and there are none",
        ));
    }
    if sources.is_empty() {
        return Err(invalid(
            "sources",
            "pinned packages need the sources they were resolved against",
        ));
    }
    packages.sort_by(|left, right| left.name.cmp(&right.name));
    if let Some(pair) = packages
        .windows(2)
        .find(|pair| pair[0].name == pair[1].name)
    {
        return Err(FieldError::Invalid {
            field: "pins".to_string(),
            message: format!("`{}` is pinned twice", pair[0].name),
        });
    }
    Ok(Some(ImagePins {
        architecture,
        sources,
        packages,
    }))
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

fn json_array(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|item| json_string(item)).collect();
    format!("[{}]", parts.join(", "))
}
