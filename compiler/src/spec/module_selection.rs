//! Which modules a spec uses: the built-in ones, those of the spec's module folders, less
//! those `exclude_modules` leaves out (hosts initialised by other means, say).

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostic::{CompileError, Diagnostic, Diagnostics};
use crate::module::library::ModuleLibrary;
use crate::module::manifest::Module;
use crate::source_file::SourceFile;
use crate::spec::cluster_table::ClusterTable;
use crate::suggest::did_you_mean;

/// The modules the spec uses, and those it leaves out by name.
pub(super) struct ModuleSelection {
    pub library: ModuleLibrary,
    pub excluded: BTreeMap<String, Module>,
}

/// Loads the built-in modules and the spec's folders (relative to `directory`), then
/// takes out the excluded ones, recording every problem.
pub(super) fn select_modules(
    cluster: &ClusterTable,
    directory: &Path,
    source: &SourceFile,
    diagnostics: &mut Diagnostics,
) -> Result<ModuleSelection, CompileError> {
    let mut library = ModuleLibrary::builtin()?;
    for folder in &cluster.module_folders {
        let path = directory.join(&folder.value);
        if !path.is_dir() {
            diagnostics.push(
                Diagnostic::new(format!("module folder `{}` does not exist", folder.value))
                    .at(source, &folder.span)
                    .hint("module folders are relative to the spec's own folder"),
            );
            continue;
        }
        if let Err(errors) = library.load_directory(&path, &folder.value) {
            diagnostics.extend(errors);
        }
    }
    let mut excluded = BTreeMap::new();
    for name in &cluster.excluded_modules {
        match library.remove(&name.value) {
            Some(module) => {
                excluded.insert(name.value.clone(), module);
            }
            None => {
                let known: Vec<&str> = library
                    .modules()
                    .iter()
                    .map(|module| module.name.as_str())
                    .collect();
                diagnostics.push(
                    Diagnostic::new(format!(
                        "`exclude_modules` names `{}`, which is not a module",
                        name.value
                    ))
                    .at(source, &name.span)
                    .maybe_hint(did_you_mean(&name.value, known.iter().copied())),
                );
            }
        }
    }
    Ok(ModuleSelection { library, excluded })
}
