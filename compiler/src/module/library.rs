use std::collections::BTreeMap;
use std::path::Path;

use include_dir::{Dir, include_dir};

use crate::diagnostic::{CompileError, Diagnostic, Diagnostics};
use crate::module::manifest::{MANIFEST_FILE, Module};
use crate::module::setting::SettingSchema;
use crate::source_file::SourceFile;

/// The built-in modules: the `modules/` folder of the source tree, embedded in the binary.
static BUILTIN_MODULES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../modules");

/// Every module a compile can use: the built-in ones and those of the spec's module folders.
#[derive(Debug, Clone)]
pub struct ModuleLibrary {
    /// Sorted by name.
    modules: Vec<Module>,
}

impl ModuleLibrary {
    /// The built-in modules alone.
    pub fn builtin() -> Result<Self, CompileError> {
        let mut diagnostics = Diagnostics::default();
        let mut modules = Vec::new();
        let mut folders: Vec<&Dir<'static>> = BUILTIN_MODULES.dirs().collect();
        folders.sort_by_key(|folder| folder.path());
        for folder in folders {
            let folder_name = folder.path().to_string_lossy().into_owned();
            let mut manifest = None;
            let mut templates = BTreeMap::new();
            collect_embedded(folder, folder.path(), &mut |relative, text| {
                let file =
                    SourceFile::new(format!("builtin:modules/{folder_name}/{relative}"), text);
                if relative == MANIFEST_FILE {
                    manifest = Some(file);
                } else {
                    templates.insert(relative.to_string(), file);
                }
            });
            let Some(manifest) = manifest else { continue };
            match Module::parse(manifest, templates, true) {
                Ok(module) => modules.push(module),
                Err(errors) => diagnostics.extend(errors),
            }
        }
        diagnostics.finish(Self { modules })
    }

    /// Adds the modules found in `directory` (each a subfolder with a `module.toml`).
    /// `display` is how errors name the folder: as the spec wrote it.
    pub fn load_directory(
        &mut self,
        directory: &Path,
        display: &str,
    ) -> Result<(), Vec<Diagnostic>> {
        let entries = std::fs::read_dir(directory).map_err(|error| {
            vec![Diagnostic::new(format!(
                "cannot read module folder {display}: {error}"
            ))]
        })?;
        let mut folders: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.join(MANIFEST_FILE).is_file())
            .collect();
        folders.sort();
        let mut diagnostics = Vec::new();
        for folder in folders {
            let folder_name = folder
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let origin_of = |relative: &str| format!("{display}/{folder_name}/{relative}");
            let mut files: Vec<(String, String)> = Vec::new();
            if let Err(error) = collect_disk(&folder, &folder, &mut files) {
                diagnostics.push(Diagnostic::new(format!(
                    "cannot read module {}: {error}",
                    origin_of("")
                )));
                continue;
            }
            files.sort();
            let mut manifest = None;
            let mut templates = BTreeMap::new();
            for (relative, text) in files {
                let file = SourceFile::new(origin_of(&relative), text);
                if relative == MANIFEST_FILE {
                    manifest = Some(file);
                } else {
                    templates.insert(relative, file);
                }
            }
            let Some(manifest) = manifest else { continue };
            match Module::parse(manifest, templates, false) {
                Ok(module) => {
                    if let Some(existing) = self
                        .modules
                        .iter()
                        .find(|existing| existing.name == module.name)
                    {
                        diagnostics.push(
                            Diagnostic::new(format!(
                                "module `{}` of {} has the name of {} module",
                                module.name,
                                module.manifest.origin,
                                if existing.builtin {
                                    "a built-in".to_string()
                                } else {
                                    format!("the module in {}", existing.manifest.origin)
                                }
                            ))
                            .hint("give your module a name of its own in its [module] table"),
                        );
                        continue;
                    }
                    self.modules.push(module);
                }
                Err(errors) => diagnostics.extend(errors),
            }
        }
        self.modules
            .sort_by(|left, right| left.name.cmp(&right.name));
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(diagnostics)
        }
    }

    /// Takes a module out of the library, returning it.
    pub fn remove(&mut self, name: &str) -> Option<Module> {
        let position = self.modules.iter().position(|module| module.name == name)?;
        Some(self.modules.remove(position))
    }

    /// Every module, sorted by name.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// Every role some module applies to.
    pub fn roles(&self) -> Vec<&str> {
        let mut roles: Vec<&str> = self
            .modules
            .iter()
            .flat_map(|module| module.roles.iter().map(|role| role.value.as_str()))
            .filter(|role| *role != crate::module::manifest::ALL_HOSTS)
            .collect();
        roles.sort_unstable();
        roles.dedup();
        roles
    }

    /// Every setting of every module, with the module that declares it.
    pub fn settings(&self) -> impl Iterator<Item = (&Module, &SettingSchema)> {
        self.modules
            .iter()
            .flat_map(|module| module.settings.iter().map(move |setting| (module, setting)))
    }
}

fn collect_embedded(folder: &Dir<'static>, root: &Path, visit: &mut dyn FnMut(&str, String)) {
    for file in folder.files() {
        let relative = file.path().strip_prefix(root).unwrap_or(file.path());
        if let Some(text) = file.contents_utf8() {
            visit(
                &relative.to_string_lossy().replace('\\', "/"),
                text.to_string(),
            );
        }
    }
    for child in folder.dirs() {
        collect_embedded(child, root, visit);
    }
}

fn collect_disk(
    folder: &Path,
    root: &Path,
    out: &mut Vec<(String, String)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_disk(&path, root, out)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.push((relative, std::fs::read_to_string(&path)?));
        }
    }
    Ok(())
}
