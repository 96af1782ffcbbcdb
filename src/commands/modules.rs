use std::path::PathBuf;

use cairn_compiler::ModuleLibrary;

use crate::failure::Failure;
use crate::output::print;

pub fn run(folders: &[PathBuf], markdown: bool) -> Result<(), Failure> {
    let mut library = ModuleLibrary::builtin()?;
    for folder in folders {
        library
            .load_directory(folder, &folder.display().to_string())
            .map_err(|diagnostics| {
                Failure::Diagnostics(cairn_compiler::CompileError { diagnostics })
            })?;
    }
    if markdown {
        print(&cairn_compiler::module::reference::markdown(&library))
    } else {
        print(&cairn_compiler::module::reference::plain(&library))
    }
}
