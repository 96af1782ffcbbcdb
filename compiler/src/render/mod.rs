//! Rendering module templates with minijinja.
//!
//! The context is built once per cluster (`cluster`, `hosts`, `roles`, every settings
//! section) and once per host (`host`); values are shared, so ten thousand hosts do not copy
//! the host list ten thousand times. A template that reads neither `host` nor `item` renders
//! the same for every host, so it is rendered once and its text shared: this is what keeps a
//! 10,000-host `/etc/hosts` at one render and one copy.

mod context;
mod convert;
mod networks;
mod renderer;
mod secret_value;
pub mod shell_quote;

pub use context::TemplateContext;
pub use convert::to_lock_value;
pub use renderer::{Rendered, Renderer, build_environment};
