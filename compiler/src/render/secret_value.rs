use std::fmt;
use std::sync::Arc;

use cairn_lockfiles::secret_placeholder;
use minijinja::value::{Object, ObjectRepr};

/// A secret as templates see it: rendered into text, it is a placeholder that apply
/// replaces with the value on the host; as a whole field (`"{{ mysql.password }}"`) it stays
/// a secret reference. Its value is never in the compiler's hands.
#[derive(Debug)]
pub struct SecretValue {
    pub name: String,
}

impl Object for SecretValue {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&secret_placeholder(&self.name))
    }
}
