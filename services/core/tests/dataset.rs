//! The dataset is deterministic, seeds atomically, and answers the contract's queries.

use protolab_core::contract::{ContractError, ListQuery};
use protolab_core::dataset::{seed_file, Dataset, Item};

async fn all_rows(db: &Dataset, n: i64) -> Vec<Item> {
    let mut rows = Vec::new();
    let mut offset = 0;
    while offset < n {
        let page = db
            .list_items(&ListQuery {
                offset,
                limit: 1000,
                category: None,
            })
            .await
            .expect("page");
        offset += page.len() as i64;
        rows.extend(page);
    }
    rows
}

#[tokio::test]
async fn same_seed_gives_identical_rows_and_files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    seed_file(&a, 3_000, 42).await?;
    seed_file(&b, 3_000, 42).await?;
    assert!(
        std::fs::read(&a)? == std::fs::read(&b)?,
        "seeded files differ byte for byte"
    );
    let db = Dataset::open(&a).await?;
    assert_eq!(db.len(), 3_000);
    let rows = all_rows(&db, 3_000).await;
    let expected: Vec<Item> = (1..=3_000).map(|id| Item::generate(42, id)).collect();
    assert_eq!(rows, expected);
    Ok(())
}

#[tokio::test]
async fn concurrent_seeding_of_one_path_leaves_a_valid_dataset() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("shared.db");
    let (x, y) = tokio::join!(
        Dataset::open_or_seed(&path, 2_000, 42),
        Dataset::open_or_seed(&path, 2_000, 42)
    );
    for db in [x?, y?] {
        assert_eq!(db.len(), 2_000);
        assert_eq!(db.get_item(42).await?, Item::generate(42, 42));
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    Ok(())
}

#[tokio::test]
async fn queries_follow_the_contract() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Dataset::open_or_seed(&dir.path().join("q.db"), 1_000, 7).await?;
    assert_eq!(
        db.get_item(1_001).await,
        Err(ContractError::NotFound(1_001))
    );
    let toys = db
        .list_items(&ListQuery {
            offset: 0,
            limit: 1000,
            category: Some("toys".into()),
        })
        .await?;
    let expected: Vec<Item> = (1..=1_000)
        .map(|id| Item::generate(7, id))
        .filter(|i| i.category == "toys")
        .collect();
    assert_eq!(toys, expected);
    let err = db
        .list_items(&ListQuery {
            offset: 0,
            limit: 1001,
            category: None,
        })
        .await;
    assert!(matches!(err, Err(ContractError::InvalidArgument(_))));
    Ok(())
}
