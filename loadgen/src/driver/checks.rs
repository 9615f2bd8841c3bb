//! Answer checks the binary drivers share (the REST and gRPC drivers check their
//! own decoded types): item 42 equal to the dataset's, a first page that matches it.
//! Pure: bytes in, a verdict out.

use protolab_core::Item;

use super::{CallError, OpSpec};

/// Item 42 as the target returned it, against the dataset's.
pub fn check_item_42(json: &[u8], seed: u64) -> Result<(), CallError> {
    let got: Item = serde_json::from_slice(json)
        .map_err(|e| CallError::Verify(format!("item 42 is not an item: {e}")))?;
    let want = Item::generate(seed, 42);
    if got != want {
        return Err(CallError::Verify(format!(
            "item 42 is {got:?}, expected {want:?}"
        )));
    }
    Ok(())
}

/// A first page as the target returned it: non-empty, within `limit`, and (with no
/// category) starting with the dataset's item 1.
pub fn check_list(json: &[u8], op: &OpSpec, seed: u64) -> Result<(), CallError> {
    let OpSpec::ListItems { limit, category } = op else {
        return Ok(());
    };
    let items: Vec<Item> = serde_json::from_slice(json)
        .map_err(|e| CallError::Verify(format!("list is not a list of items: {e}")))?;
    let first_ok = category.is_some() || items.first() == Some(&Item::generate(seed, 1));
    if items.is_empty() || items.len() > *limit as usize || !first_ok {
        return Err(CallError::Verify(format!(
            "list of {} items does not match the dataset",
            items.len()
        )));
    }
    Ok(())
}
