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

/// A page as JSON (an array of items, see [`page`]).
pub fn item_page(
    seed: u64,
    got: &Value,
    limit: u32,
    category: Option<&str>,
) -> Result<(), CallError> {
    let items = got
        .as_array()
        .ok_or_else(|| CallError::Verify(format!("list is not an array: {got}")))?
        .iter()
        .map(item_from)
        .collect::<Result<Vec<Item>, CallError>>()?;
    page(seed, &items, limit, category)
}

/// The first page (offset 0) of at most `limit` items: not empty, every row the
/// dataset's own, ids in ascending order, and without a category filter exactly
/// rows 1, 2, 3, ...; with one, every row of that category.
pub fn page(
    seed: u64,
    items: &[Item],
    limit: u32,
    category: Option<&str>,
) -> Result<(), CallError> {
    let bad = |why: String| {
        Err(CallError::Verify(format!(
            "list of {} items: {why}",
            items.len()
        )))
    };
    if items.is_empty() {
        return bad("empty".into());
    }
    if items.len() > limit as usize {
        return bad(format!("more than the limit of {limit}"));
    }
    if let Some(w) = items.windows(2).find(|w| w[0].id >= w[1].id) {
        return bad(format!("ids out of order ({} then {})", w[0].id, w[1].id));
    }
    for (i, item) in items.iter().enumerate() {
        let expected_id = i as i64 + 1;
        match category {
            None if item.id != expected_id => {
                return bad(format!(
                    "row {} has id {}, expected {expected_id}",
                    i + 1,
                    item.id
                ))
            }
            Some(c) if item.category != c => {
                return bad(format!(
                    "item {} is in {:?}, not {c:?}",
                    item.id, item.category
                ))
            }
            _ => {}
        }
        if *item != Item::generate(seed, item.id) {
            return bad(format!("item {} does not match the dataset's row", item.id));
        }
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

    #[test]
    fn a_page_is_checked_row_by_row() {
        let rows =
            |ids: &[i64]| -> Vec<Item> { ids.iter().map(|i| Item::generate(42, *i)).collect() };
        assert!(page(42, &rows(&[1, 2, 3]), 3, None).is_ok());
        assert!(
            page(42, &rows(&[1, 2, 3]), 2, None).is_err(),
            "over the limit"
        );
        assert!(
            page(42, &rows(&[2, 3, 4]), 3, None).is_err(),
            "not the first page"
        );
        assert!(
            page(42, &rows(&[1, 3, 2]), 3, None).is_err(),
            "out of order"
        );
        assert!(page(42, &[], 3, None).is_err(), "empty");
        let mut changed = rows(&[1, 2]);
        changed[1].price += 1.0;
        assert!(
            page(42, &changed, 3, None).is_err(),
            "a row that is not the dataset's"
        );
        let c = Item::generate(42, 1).category;
        let same: Vec<Item> = (1..200)
            .map(|i| Item::generate(42, i))
            .filter(|i| i.category == c)
            .take(3)
            .collect();
        assert!(page(42, &same, 3, Some(&c)).is_ok());
        assert!(page(42, &rows(&[1, 2]), 3, Some("no-such-category")).is_err());
    }
}
