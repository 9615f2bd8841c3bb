//! The benchmark dataset: a SQLite table `items`, generated deterministically.
//!
//! `Item::generate(seed, id)` is a pure function, so the same seed and count give
//! byte-identical rows on any machine, and a client can know item 42 without a
//! database. `seed_file` writes a whole dataset to a temp file and renames it into
//! place, so two servers seeding the same path at once cannot corrupt it. Servers
//! open the file read-only (`immutable`) through a pool; nothing here ever writes
//! to an opened dataset.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, QueryBuilder, Sqlite};

use crate::contract::{ContractError, ListQuery};

/// Default number of rows, as DESIGN.md's contract says.
pub const DEFAULT_ITEMS: u32 = 100_000;
/// Default generator seed.
pub const DEFAULT_SEED: u64 = 42;
/// Length of every description, in bytes (ASCII).
pub const DESCRIPTION_LEN: usize = 100;
/// Rows per INSERT statement: 6 columns x 1000 rows stays far below SQLite's
/// 32766 bound-variable limit while amortising statement overhead.
const ROWS_PER_STATEMENT: usize = 1000;
/// Rows per transaction when seeding.
const ROWS_PER_TRANSACTION: usize = 20_000;
/// 2024-01-01T00:00:00Z: the first item's creation time.
const EPOCH_BASE: i64 = 1_704_067_200;

/// Item categories; `category` is indexed so `list_items(category)` is an index scan.
pub const CATEGORIES: [&str; 12] = [
    "books",
    "electronics",
    "garden",
    "grocery",
    "health",
    "home",
    "kitchen",
    "music",
    "office",
    "outdoors",
    "sports",
    "toys",
];

const ADJECTIVES: [&str; 16] = [
    "agile", "bold", "calm", "deft", "eager", "fair", "grand", "hardy", "ideal", "jolly", "keen",
    "lucid", "mellow", "nimble", "oaken", "prime",
];
const NOUNS: [&str; 16] = [
    "anchor", "beacon", "cable", "dynamo", "engine", "falcon", "gadget", "harbor", "island",
    "jigsaw", "kettle", "lantern", "magnet", "needle", "orbit", "pillar",
];
const WORDS: [&str; 24] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "minim",
    "veniam",
    "quis",
    "nostrud",
];

/// One row of `items`; its JSON form is the same from every server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Item {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub price: f64,
    pub description: String,
    pub created_at: String,
}

/// Errors opening or seeding a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("database {path}: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("dataset file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad dataset parameters: {0}")]
    Invalid(String),
}

/// SplitMix64: tiny, well-distributed and fully specified, so row generation can
/// never change under us with a crate upgrade.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64, id: i64) -> Self {
        Self(seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

impl Item {
    /// The row with this `id` for this `seed`; a pure function of both.
    pub fn generate(seed: u64, id: i64) -> Item {
        let mut rng = SplitMix64::new(seed, id);
        let name = format!("{} {} {id}", rng.pick(&ADJECTIVES), rng.pick(&NOUNS));
        let category = rng.pick(&CATEGORIES).to_string();
        // Whole cents, so the f64 round-trips through SQLite REAL and JSON exactly.
        let price = (100 + rng.next() % 99_900) as f64 / 100.0;
        let mut description = String::with_capacity(DESCRIPTION_LEN + 16);
        while description.len() < DESCRIPTION_LEN {
            if !description.is_empty() {
                description.push(' ');
            }
            description.push_str(rng.pick(&WORDS));
        }
        description.truncate(DESCRIPTION_LEN);
        let ts = EPOCH_BASE + id * 37 + (rng.next() % 37) as i64;
        let created_at = time::OffsetDateTime::from_unix_timestamp(ts)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        Item {
            id,
            name,
            category,
            price,
            description,
            created_at,
        }
    }
}

/// A read-only dataset behind a connection pool.
#[derive(Clone, Debug)]
pub struct Dataset {
    pool: SqlitePool,
    items: i64,
}

impl Dataset {
    /// Opens `path` read-only, seeding it first with `items` rows from `seed` when
    /// the file does not exist.
    pub async fn open_or_seed(path: &Path, items: u32, seed: u64) -> Result<Dataset, DatasetError> {
        if !path.exists() {
            seed_file(path, items, seed).await?;
        }
        Self::open(path).await
    }

    /// Opens an existing dataset read-only.
    pub async fn open(path: &Path) -> Result<Dataset, DatasetError> {
        let sql = |source| DatasetError::Sql {
            path: path.to_owned(),
            source,
        };
        // immutable: the file never changes while served, so SQLite skips locking
        // (and works on a read-only volume).
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .immutable(true)
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(sql)?;
        let items: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM items")
            .fetch_one(&pool)
            .await
            .map_err(sql)?;
        Ok(Dataset { pool, items })
    }

    /// Number of rows.
    pub fn len(&self) -> i64 {
        self.items
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// One row by primary key.
    pub async fn get_item(&self, id: i64) -> Result<Item, ContractError> {
        sqlx::query_as::<_, Item>(
            "SELECT id, name, category, price, description, created_at FROM items WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(internal)?
        .ok_or(ContractError::NotFound(id))
    }

    /// One page, ordered by id, optionally within one category (index scan).
    pub async fn list_items(&self, q: &ListQuery) -> Result<Vec<Item>, ContractError> {
        q.validate()?;
        let rows = match &q.category {
            Some(category) => {
                sqlx::query_as::<_, Item>(
                    "SELECT id, name, category, price, description, created_at FROM items \
                     WHERE category = ? ORDER BY id LIMIT ? OFFSET ?",
                )
                .bind(category)
                .bind(q.limit)
                .bind(q.offset)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query_as::<_, Item>(
                    "SELECT id, name, category, price, description, created_at FROM items \
                     ORDER BY id LIMIT ? OFFSET ?",
                )
                .bind(q.limit)
                .bind(q.offset)
                .fetch_all(&self.pool)
                .await
            }
        };
        rows.map_err(internal)
    }
}

fn internal(e: sqlx::Error) -> ContractError {
    tracing::error!(error = %e, "dataset query failed");
    ContractError::Internal
}

/// Writes a fresh dataset to `path` atomically: temp file in the same folder, then rename.
pub async fn seed_file(path: &Path, items: u32, seed: u64) -> Result<(), DatasetError> {
    if items == 0 {
        return Err(DatasetError::Invalid("items must be at least 1".into()));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| DatasetError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("dataset.db");
    // A randomly named temp file: concurrent seeders never share one, whether other
    // calls, other processes, or other containers on a shared volume (where every
    // server is PID 1: the swarm stack's replicas). Removed unless renamed into place.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|source| DatasetError::Io {
            path: dir.to_owned(),
            source,
        })?
        .into_temp_path();
    write_rows(&tmp, items, seed).await?;
    tmp.persist(path).map_err(|e| DatasetError::Io {
        path: path.to_owned(),
        source: e.error,
    })?;
    tracing::info!(path = %path.display(), items, seed, "dataset seeded");
    Ok(())
}

async fn write_rows(tmp: &Path, items: u32, seed: u64) -> Result<(), DatasetError> {
    let sql = |source| DatasetError::Sql {
        path: tmp.to_owned(),
        source,
    };
    let _ = std::fs::remove_file(tmp);
    let opts = SqliteConnectOptions::from_str("sqlite://")
        .map_err(sql)?
        .filename(tmp)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
        .disable_statement_logging();
    let mut conn = opts.connect().await.map_err(sql)?;
    sqlx::query(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL, \
         price REAL NOT NULL, description TEXT NOT NULL, created_at TEXT NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .map_err(sql)?;
    let ids: Vec<i64> = (1..=i64::from(items)).collect();
    for tx_ids in ids.chunks(ROWS_PER_TRANSACTION) {
        let mut tx = sqlx::Connection::begin(&mut conn).await.map_err(sql)?;
        for stmt_ids in tx_ids.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO items (id, name, category, price, description, created_at) ",
            );
            qb.push_values(
                stmt_ids.iter().map(|&id| Item::generate(seed, id)),
                |mut b, it| {
                    b.push_bind(it.id)
                        .push_bind(it.name)
                        .push_bind(it.category)
                        .push_bind(it.price)
                        .push_bind(it.description)
                        .push_bind(it.created_at);
                },
            );
            qb.build().execute(&mut *tx).await.map_err(sql)?;
        }
        tx.commit().await.map_err(sql)?;
    }
    // Built after the rows: one sort instead of 100k index updates.
    sqlx::query("CREATE INDEX items_category ON items (category, id)")
        .execute(&mut conn)
        .await
        .map_err(sql)?;
    sqlx::Connection::close(conn).await.map_err(sql)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_shaped() {
        let a = Item::generate(42, 42);
        assert_eq!(a, Item::generate(42, 42));
        assert_ne!(a, Item::generate(43, 42));
        assert_eq!(a.description.len(), DESCRIPTION_LEN);
        assert!(CATEGORIES.contains(&a.category.as_str()));
        assert!(
            a.created_at.starts_with("2024-01-01T00:2"),
            "{}",
            a.created_at
        );
        assert_eq!((a.price * 100.0).round() / 100.0, a.price);
    }
}
