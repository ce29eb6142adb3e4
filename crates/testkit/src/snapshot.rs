//! A whole store as rows of text, to compare before and after requests that must change
//! nothing: every table of the running server's database, each row rendered by the database
//! itself (SQLite's `quote()`, PostgreSQL's row-to-text cast) and sorted.

use sqlx::{AnyConnection, Connection, Row};
use std::collections::BTreeMap;

/// Every table's rows, rendered and sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot(pub BTreeMap<String, Vec<String>>);

/// Reads snapshots of one store over one connection, with one statement per snapshot.
pub struct Snapshotter {
    conn: AnyConnection,
    sql: String,
    /// A cheap statement whose answer changes whenever the store may have: SQLite's
    /// `data_version` (another connection committed), PostgreSQL's per-table digests.
    fingerprint: String,
}

impl Snapshotter {
    /// Opens the store at `database` (a `postgres://` URL), or the SQLite file
    /// `portcullis.db` in `data_dir` when `database` is `None`, while the server runs;
    /// snapshots leave out the tables in `ignored`.
    pub async fn open(
        data_dir: &std::path::Path,
        database: Option<&str>,
        ignored: &[&str],
    ) -> Snapshotter {
        sqlx::any::install_default_drivers();
        let url = match database {
            Some(u) => u.to_string(),
            None => format!(
                "sqlite://{}?mode=ro",
                data_dir.join("portcullis.db").display()
            ),
        };
        let mut conn = AnyConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("snapshot: cannot open {url}: {e}"));
        let postgres = database.is_some();
        let tables: Vec<String> = sqlx::query(if postgres {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        })
        .fetch_all(&mut conn)
        .await
        .expect("list tables")
        .iter()
        .map(|r| r.get::<String, _>(0))
        .filter(|t| !ignored.contains(&t.as_str()))
        .collect();
        let mut parts = vec![];
        let mut digests = vec![];
        for t in tables {
            let row = if postgres {
                "CAST(x AS TEXT)".to_string()
            } else {
                let columns: Vec<String> =
                    sqlx::query(&format!("SELECT name FROM pragma_table_info('{t}')"))
                        .fetch_all(&mut conn)
                        .await
                        .expect("columns")
                        .iter()
                        .map(|r| format!("quote(x.\"{}\")", r.get::<String, _>(0)))
                        .collect();
                columns.join(" || '|' || ")
            };
            parts.push(format!("SELECT '{t}', {row} FROM \"{t}\" x"));
            digests.push(format!(
                "SELECT '{t}', COUNT(*)::text || ':' || COALESCE(md5(string_agg(CAST(x AS TEXT), ',' ORDER BY CAST(x AS TEXT))), '') FROM \"{t}\" x"
            ));
        }
        Snapshotter {
            conn,
            sql: parts.join(" UNION ALL "),
            fingerprint: if postgres {
                digests.join(" UNION ALL ")
            } else {
                "SELECT 'data_version', CAST(data_version AS TEXT) FROM pragma_data_version".into()
            },
        }
    }

    /// A short value that stays the same while the store does (and may change when the
    /// store did not, on SQLite when only an ignored table was written).
    pub async fn fingerprint(&mut self) -> Vec<(String, String)> {
        sqlx::query(&self.fingerprint)
            .fetch_all(&mut self.conn)
            .await
            .unwrap_or_else(|e| panic!("fingerprint: {e}"))
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
            .collect()
    }

    /// Every table's rows now.
    pub async fn take(&mut self) -> Snapshot {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in sqlx::query(&self.sql)
            .fetch_all(&mut self.conn)
            .await
            .unwrap_or_else(|e| panic!("snapshot: {e}"))
        {
            out.entry(r.get::<String, _>(0))
                .or_default()
                .push(r.get::<String, _>(1));
        }
        for rows in out.values_mut() {
            rows.sort();
        }
        Snapshot(out)
    }
}

impl Snapshot {
    /// The rows that differ from `before`, table by table, leaving out `ignored` tables:
    /// `+ row` added, `- row` gone. Empty when the two are the same.
    pub fn changes_since(&self, before: &Snapshot, ignored: &[&str]) -> Vec<String> {
        let mut out = vec![];
        let names: std::collections::BTreeSet<&String> =
            self.0.keys().chain(before.0.keys()).collect();
        for t in names {
            if ignored.contains(&t.as_str()) {
                continue;
            }
            out.extend(self.added(before, t).iter().map(|r| format!("{t}: + {r}")));
            out.extend(before.added(self, t).iter().map(|r| format!("{t}: - {r}")));
        }
        out
    }

    /// The rows `table` gained since `before`.
    pub fn added(&self, before: &Snapshot, table: &str) -> Vec<String> {
        let was: std::collections::HashSet<&String> =
            before.0.get(table).into_iter().flatten().collect();
        self.0
            .get(table)
            .into_iter()
            .flatten()
            .filter(|r| !was.contains(r))
            .cloned()
            .collect()
    }
}
