//! Verification of answers against the contract, shared by the drivers that decode
//! JSON answers (GraphQL, SSE, WebSocket, NET-001 DATA, framed): item 42 must equal the dataset's,
//! a list page must start at the dataset's first row, echo must return the same
//! bytes, score the contract's value. Pure comparisons; no IO.

use protolab_core::Item;
use serde_json::Value;

use protolab_bench::driver::{CallError, OpSpec};

/// The verification answer to `op` (item 42, or the first page) as the target sent it;
/// other ops are checked on every call by their drivers.
pub fn answer(seed: u64, op: &OpSpec, got: &Value) -> Result<(), CallError> {
    match op {
        OpSpec::GetItem { .. } => item_42(seed, got),
        OpSpec::ListItems { limit, category } => item_page(seed, got, *limit, category.as_deref()),
        _ => Ok(()),
    }
}

/// JSON bytes as a value for the checks here.
pub fn json(bytes: &[u8]) -> Result<Value, CallError> {
    serde_json::from_slice(bytes).map_err(|e| CallError::Verify(format!("not JSON: {e}")))
}

/// `got` (an item as JSON, snake_case or GraphQL's camelCase) equals row 42.
pub fn item_42(seed: u64, got: &Value) -> Result<(), CallError> {
    let item = item_from(got)?;
    let want = Item::generate(seed, 42);
    if item != want {
        return Err(CallError::Verify(format!(
            "item 42 is {item:?}, expected {want:?}"
        )));
    }
    Ok(())
}

/// An item from JSON, accepting `createdAt` for `created_at`.
pub fn item_from(v: &Value) -> Result<Item, CallError> {
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        if let Some(c) = obj.remove("createdAt") {
            obj.insert("created_at".into(), c);
        }
    }
    serde_json::from_value(v).map_err(|e| CallError::Verify(format!("not an item: {e}")))
}

/// A page of at most `limit` items that, without a category filter, starts at row 1.
pub fn item_page(
    seed: u64,
    got: &Value,
    limit: u32,
    category: Option<&str>,
) -> Result<(), CallError> {
    let items = got
        .as_array()
        .ok_or_else(|| CallError::Verify(format!("list is not an array: {got}")))?;
    let first = items.first().map(item_from).transpose()?;
    let first_ok = category.is_some() || first == Some(Item::generate(seed, 1));
    if items.is_empty() || items.len() > limit as usize || !first_ok {
        return Err(CallError::Verify(format!(
            "list of {} items does not match the dataset",
            items.len()
        )));
    }
    Ok(())
}

/// The echo came back byte for byte.
pub fn echo(want: &[u8], got: &[u8]) -> Result<(), CallError> {
    if want != got {
        return Err(CallError::Verify(format!(
            "echo returned {} bytes that differ from the {} sent",
            got.len(),
            want.len()
        )));
    }
    Ok(())
}

/// `got` is the contract's score of `doc`.
pub fn score(doc: &str, got: Option<f64>) -> Result<(), CallError> {
    let want = protolab_core::contract::score(doc).map_err(|e| CallError::Verify(e.to_string()))?;
    if got != Some(want) {
        return Err(CallError::Verify(format!("score {got:?}, expected {want}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_compare_in_either_spelling() {
        let mut v = serde_json::to_value(Item::generate(42, 42)).expect("item as JSON");
        assert!(item_42(42, &v).is_ok());
        let created = v["created_at"].take();
        v["createdAt"] = created;
        v.as_object_mut().map(|o| o.remove("created_at"));
        assert!(item_42(42, &v).is_ok());
        v["price"] = 1.5.into();
        assert!(matches!(item_42(42, &v), Err(CallError::Verify(_))));
        assert!(echo(b"ab", b"ab").is_ok() && echo(b"ab", b"ba").is_err());
        assert!(score("[1,3]", Some(2.0)).is_ok() && score("[1,3]", Some(2.5)).is_err());
    }
}
