//! How a script reaches `sh`, for both transports.
//!
//! A short script is the argument of `sh -c`, as it always was. A long one cannot be:
//! Linux refuses any single argument over MAX_ARG_STRLEN (128 KiB) with E2BIG, and sshd,
//! which runs the SSH command as `$SHELL -c COMMAND`, refuses requests over its packet
//! limit (256 KiB). The facts script of a host with a thousand files is that long. So a
//! long script travels on stdin, ahead of the caller's bytes, and `sh -c` runs a small
//! fixed reader that takes exactly the script's length and evaluates it: the script's own
//! stdin then carries exactly the caller's bytes (file contents, secrets), and a held
//! script's `exec cat >/dev/null` still ends when the transport closes stdin.
//!
//! The reader is `dd bs=N count=1 iflag=fullblock`. `dd` asks `read(2)` for at most the
//! bytes still missing, so it never consumes a byte past the script, and `fullblock` makes
//! it read on until all N arrived (a pipe or an SSH channel delivers in pieces; without it
//! one short read would end the block). `head -c N` would not do: BusyBox's reads ahead
//! through stdio and swallows the first bytes of the data. A temporary file would need a
//! writable `/tmp` and cleanup however the script ends; the pipe needs neither.
//!
//! The script runs through `eval` in the same `sh`, as a command of its own (not in an
//! `&&` list, where `set -e` would be ignored), so `set -e`, `exit`, traps and `exec`
//! behave as under `sh -c`. Its length is checked before it runs: a connection cut
//! mid-transfer must fail, not run the first half of a script.
//!
//! Short scripts stay inline: the reader costs three processes more per script, which an
//! apply of many small actions on many hosts would feel.

use std::borrow::Cow;

/// The longest script passed inline, as the single-quoted word the SSH command carries:
/// half of MAX_ARG_STRLEN, and a quarter of sshd's packet limit.
pub(crate) const LONGEST_INLINE_SCRIPT: usize = 64 * 1024;

/// How one script is started: what `sh -c` runs, and what stdin carries before the
/// caller's bytes.
#[derive(Debug)]
pub(crate) struct Invocation<'script> {
    /// The script itself, or the reader of a long one.
    pub command: Cow<'script, str>,
    /// Nothing, or the long script, to send on stdin ahead of the caller's bytes.
    pub stdin_prefix: &'script [u8],
}

impl<'script> Invocation<'script> {
    pub fn new(script: &'script str) -> Self {
        if inline_length(script) <= LONGEST_INLINE_SCRIPT {
            Self {
                command: Cow::Borrowed(script),
                stdin_prefix: b"",
            }
        } else {
            Self {
                command: Cow::Owned(reader(script.len())),
                stdin_prefix: script.as_bytes(),
            }
        }
    }

    /// Everything to send on stdin: the prefix, then the caller's `stdin`.
    pub fn stdin_with<'data>(&self, stdin: &'data [u8]) -> Cow<'data, [u8]> {
        if self.stdin_prefix.is_empty() {
            Cow::Borrowed(stdin)
        } else {
            let mut bytes = Vec::with_capacity(self.stdin_prefix.len() + stdin.len());
            bytes.extend_from_slice(self.stdin_prefix);
            bytes.extend_from_slice(stdin);
            Cow::Owned(bytes)
        }
    }
}

/// The length of `script` as one single-quoted shell word (see [`crate::shell::quote`]):
/// what the SSH command carries, and no less than what `sh -c` gets locally.
fn inline_length(script: &str) -> usize {
    let quotes = script.bytes().filter(|byte| *byte == b'\'').count();
    script.len() + 2 + 3 * quotes
}

/// The fixed command that reads a `length`-byte script from stdin and runs it. The `.`
/// after the script keeps its final newlines, which `$(...)` would strip; the length
/// check counts it. `[` fails closed: a count that is not a number is an error too.
fn reader(length: usize) -> String {
    let expected = length + 1;
    format!(
        "cairn_script=$(dd bs={length} count=1 iflag=fullblock 2>/dev/null; echo .)\n\
         [ \"$(printf %s \"$cairn_script\" | wc -c)\" -eq {expected} ] 2>/dev/null || {{\n\
         echo 'cairn: the {length}-byte script sent on stdin arrived incomplete, so none of it ran' >&2\n\
         echo 'hint: the host needs a dd that knows iflag=fullblock (GNU coreutils, BusyBox); otherwise the connection dropped, and a retry may do' >&2\n\
         exit 1\n\
         }}\n\
         eval \"unset cairn_script\n${{cairn_script%.}}\"\n"
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use super::{Invocation, LONGEST_INLINE_SCRIPT, inline_length, reader};
    use crate::transport::{HELD_MARKER, LocalTransport, Transport};

    /// A here-document of about `size` bytes whose lines hold what a shell could misread:
    /// quotes, `$`, backslashes, a line that looks like the end of another here-document.
    fn tricky_text(size: usize) -> String {
        let mut text = String::new();
        let mut line_number = 0;
        while text.len() < size {
            text.push_str(&format!(
                "line {line_number}: it's \"quoted\" $HOME `date` \\ back\\slash END\n"
            ));
            line_number += 1;
        }
        text
    }

    /// Bytes of every value, some of which look like shell, to send after the script.
    fn binary_stdin() -> Vec<u8> {
        let mut bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        bytes.extend_from_slice(b"\necho injected\nexit 9\n");
        bytes
    }

    #[test]
    fn a_script_longer_than_an_argument_may_be_runs_with_its_stdin_intact() {
        let text = tricky_text(300 * 1024);
        let script = format!("set -e\ncat <<'CAIRN_TEXT' | wc -c\n{text}CAIRN_TEXT\nexec cat\n");
        let stdin = binary_stdin();
        let output = LocalTransport.run(&script, &stdin).unwrap();
        assert!(output.success(), "{}", output.failure_text());
        let (count, rest) = output.stdout.split_at(
            output
                .stdout
                .iter()
                .position(|byte| *byte == b'\n')
                .unwrap()
                + 1,
        );
        assert_eq!(
            String::from_utf8_lossy(count).trim(),
            text.len().to_string(),
            "the here-document arrived whole"
        );
        assert!(
            rest == stdin,
            "stdin after the script arrived byte for byte"
        );
    }

    #[test]
    fn a_long_script_keeps_set_e_and_its_exit_status() {
        let padding = format!("# {}\n", "x".repeat(100 * 1024));
        let script = format!("{padding}set -e\necho before\nfalse\necho after\n");
        let output = LocalTransport.run(&script, b"").unwrap();
        assert_eq!(output.status, 1);
        assert_eq!(output.stdout_text(), "before\n");

        let script = format!("{padding}trap 'echo trapped' EXIT\nexit 7\n");
        let output = LocalTransport.run(&script, b"").unwrap();
        assert_eq!(output.status, 7);
        assert_eq!(output.stdout_text(), "trapped\n");
    }

    #[test]
    fn a_long_held_script_says_its_piece_and_ends_when_released() {
        let padding = format!("# {}\n", "'".repeat(200 * 1024));
        let script = format!("{padding}echo holding\necho '{HELD_MARKER}'\nexec cat >/dev/null\n");
        let (said, held) = LocalTransport.hold(&script, b"").unwrap();
        assert_eq!(said, "holding\n");
        // Dropping the guard closes stdin and waits for the script: a script still reading
        // (the prefix not consumed, or `cat` never ending) would hang here.
        drop(held);
    }

    #[test]
    fn a_long_script_cut_short_does_not_run_at_all() {
        let script = "echo ran\n";
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(reader(script.len() + 100))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("arrived incomplete"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    #[test]
    fn scripts_up_to_the_limit_stay_inline_and_longer_ones_go_on_stdin() {
        let longest = "x".repeat(LONGEST_INLINE_SCRIPT - 2);
        assert_eq!(inline_length(&longest), LONGEST_INLINE_SCRIPT);
        let invocation = Invocation::new(&longest);
        assert_eq!(invocation.command, longest);
        assert!(invocation.stdin_prefix.is_empty());
        assert_eq!(invocation.stdin_with(b"data"), &b"data"[..]);

        // Quotes grow the word the SSH command carries: four bytes each.
        let quoted = "'".repeat(LONGEST_INLINE_SCRIPT / 4);
        let invocation = Invocation::new(&quoted);
        assert_eq!(invocation.stdin_prefix, quoted.as_bytes());
        assert!(invocation.command.len() < 1024);
        assert_eq!(
            invocation.stdin_with(b"data").len(),
            quoted.len() + "data".len()
        );
    }
}
