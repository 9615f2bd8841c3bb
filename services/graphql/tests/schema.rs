//! The committed SDL (`schema.graphql`) must match the served schema.
//! Regenerate with `UPDATE_SCHEMA=1 cargo test -p protolab-graphql --test schema`.

use std::path::PathBuf;

#[test]
fn committed_schema_matches_served_schema() -> anyhow::Result<()> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let served = protolab_graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &served)?;
        return Ok(());
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == served,
        "{} is out of date with the schema in src/; regenerate it with \
         `UPDATE_SCHEMA=1 cargo test -p protolab-graphql --test schema` and commit the result",
        path.display()
    );
    Ok(())
}
