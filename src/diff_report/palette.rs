/// ANSI colours for the text report, or none: on a terminal only, and never when `NO_COLOR`
/// is set (no-color.org). Four styles do not warrant a crate.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    enabled: bool,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Palette {
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    fn paint(self, style: &str, text: &str) -> String {
        if self.enabled {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    pub fn added(self, text: &str) -> String {
        self.paint(GREEN, text)
    }

    pub fn removed(self, text: &str) -> String {
        self.paint(RED, text)
    }

    pub fn hunk(self, text: &str) -> String {
        self.paint(CYAN, text)
    }

    pub fn heading(self, text: &str) -> String {
        self.paint(BOLD, text)
    }

    /// One line of a unified diff, coloured by its first character.
    pub fn diff_line(self, line: &str) -> String {
        match line.as_bytes().first() {
            Some(b'+') => self.added(line),
            Some(b'-') => self.removed(line),
            Some(b'@') => self.hunk(line),
            _ => line.to_string(),
        }
    }
}
