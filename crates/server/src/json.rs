//! Members added to JSON objects this crate built (with `json!`): never an index that
//! could panic on something else.

use serde_json::Value;

/// Sets `key` of the object `v` (a value that is not an object is left as it is).
pub(crate) fn set(v: &mut Value, key: &str, value: Value) {
    if let Value::Object(m) = v {
        m.insert(key.into(), value);
    }
}

/// Sets `key` of the object at `pointer` inside `v` (RFC 6901, e.g. `/grantControls`).
pub(crate) fn set_at(v: &mut Value, pointer: &str, key: &str, value: Value) {
    if let Some(inner) = v.pointer_mut(pointer) {
        set(inner, key, value);
    }
}
