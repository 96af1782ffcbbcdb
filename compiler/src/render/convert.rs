use std::collections::BTreeMap;

use cairn_lockfiles::Value;
use minijinja::Value as TemplateValue;
use minijinja::value::ValueKind;

use crate::render::secret_value::SecretValue;

/// Turns the result of a template expression into a node input. `None` is an absent field.
pub fn to_lock_value(value: &TemplateValue) -> Result<Option<Value>, String> {
    if let Some(secret) = value.downcast_object_ref::<SecretValue>() {
        return Ok(Some(Value::Secret(secret.name.clone())));
    }
    Ok(Some(match value.kind() {
        ValueKind::Undefined => return Err("the expression is undefined".to_string()),
        ValueKind::None => return Ok(None),
        ValueKind::Bool => Value::Bool(value.is_true()),
        ValueKind::Number => match value.as_i64() {
            Some(number) => Value::Integer(number),
            None => {
                return Err(format!(
                    "{value} is not an integer; node fields hold no floats"
                ));
            }
        },
        ValueKind::String => Value::String(value.as_str().unwrap_or_default().to_string()),
        ValueKind::Seq | ValueKind::Iterable => {
            let mut items = Vec::new();
            for item in value.try_iter().map_err(|error| error.to_string())? {
                if let Some(converted) = to_lock_value(&item)? {
                    items.push(converted);
                }
            }
            Value::List(items)
        }
        ValueKind::Map => {
            let mut entries = BTreeMap::new();
            for key in value.try_iter().map_err(|error| error.to_string())? {
                let item = value.get_item(&key).map_err(|error| error.to_string())?;
                if let Some(converted) = to_lock_value(&item)? {
                    entries.insert(key.to_string(), converted);
                }
            }
            Value::Table(entries)
        }
        other => return Err(format!("a {other} value cannot be a node field")),
    }))
}
