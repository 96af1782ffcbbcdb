use std::io::Write;

use crate::failure::Failure;

/// `3 nodes on 1 host`: a count with its noun, singular for one.
pub fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Writes to standard output; a closed pipe (`cairn show | head`) ends the program quietly
/// with success, as ripgrep does.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(error) => Err(Failure::Failed(format!(
            "cannot write to standard output: {error}"
        ))),
    }
}
