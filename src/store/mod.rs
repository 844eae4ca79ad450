//! The run store: one SQLite file per job beside its results file
//! (`RESULTS.job.sqlite`), the single source of a job's durable state. The
//! results, rejects and missing files are renderings of it; `--resume` and
//! `status` read only it.
//!
//! It holds, each change in a transaction of its own:
//! - the input fingerprint of the current run and the results layout
//!   (headers, delimiter) its rows are rendered with;
//! - every run (start, end, how it ended), so a fresh run can see that the
//!   last one did not finish;
//! - every send intent, written (and committed) before a row's first POST,
//!   with the highest product id the run had seen then (its high-water mark);
//! - every row's outcome;
//! - the products the job made (as each outcome arrives, so a killed run's
//!   ids stay known) and which of them it deactivated;
//! - each deactivation or reactivation: its intent before the PATCH, its
//!   result after;
//! - the last fully successful input, with the feed's validators.
//!
//! A writing run uses WAL mode with `synchronous = NORMAL`: a commit is in
//! the operating system's hands when it returns, so a `kill -9` loses
//! nothing committed (a power cut may lose the last commits, never tear the
//! file). A run that ends switches the file back to a single file (rollback
//! journal), so that reading it (`status`, a dry run, a refused run) creates
//! nothing beside it; after a kill the `-wal` and `-shm` files stay until
//! the next writing run folds them in. While a run writes, it holds an advisory lock on the store file
//! ([`JobLock`]) that the system releases when the process ends.

mod lock;
mod records;

pub use lock::{canonical_target, JobLock, TargetLock};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::feed::observe::KeyCells;
use crate::feed::state::{InputSeen, JobState, ManagedProduct};
use crate::pipeline::journal::MaybeSent;
use crate::pipeline::resume::Fingerprint;
use crate::results::{OutputError, RecordSink, ResultsLayout, RowRecord, RowStatus};

/// The store of a results file: its path plus `.job.sqlite`.
pub fn store_path(results: &Path) -> PathBuf {
    let mut s = results.as_os_str().to_owned();
    s.push(".job.sqlite");
    PathBuf::from(s)
}

/// A store error, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("the job's run store {}: {source}", path.display())]
pub struct StoreError {
    /// The store file.
    pub path: PathBuf,
    /// What SQLite said.
    #[source]
    pub source: rusqlite::Error,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    ending TEXT,
    exit_code INTEGER,
    pid INTEGER NOT NULL,
    kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS intents (
    seq INTEGER PRIMARY KEY,
    row INTEGER NOT NULL,
    high_water INTEGER,
    run INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS intents_row ON intents (row);
CREATE TABLE IF NOT EXISTS outcomes (
    row INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY,
    number TEXT,
    ean TEXT,
    deactivated INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS status_changes (
    seq INTEGER PRIMARY KEY,
    id INTEGER NOT NULL,
    action TEXT NOT NULL,
    run INTEGER NOT NULL,
    result TEXT
);
";

/// A run as the store remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEntry {
    /// Its number in this store.
    pub id: i64,
    /// `fresh`, `resume` or `afresh`.
    pub kind: String,
    /// When it started (RFC 3339).
    pub started: String,
    /// When it ended; `None` when it never did (killed, or still running).
    pub finished: Option<String>,
    /// How it ended, in a word (`completed`, `interrupted`, `stopped`, …).
    pub ending: Option<String>,
    /// Its exit code.
    pub exit_code: Option<i64>,
    /// The process that ran it.
    pub pid: i64,
}

/// A job's store, shared by the run's workers and its recorder.
#[derive(Clone)]
pub struct JobStore {
    inner: Arc<Inner>,
}

type Pending = (RowRecord, Option<String>, Option<String>);

struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
    run: Mutex<Option<i64>>,
    /// Outcomes written since the last commit, with the number and EAN of
    /// a created row's product.
    pending: Mutex<Vec<Pending>>,
}

impl std::fmt::Debug for JobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JobStore({})", self.inner.path.display())
    }
}

impl JobStore {
    /// Opens the store at `path` for writing, creating it when it is absent.
    pub fn open(path: &Path) -> Result<JobStore, StoreError> {
        let err = at(path);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags).map_err(&err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(&err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&err)?;
        // A WAL of at most about 128 KiB between checkpoints: each send
        // intent is a commit of its own.
        conn.pragma_update(None, "wal_autocheckpoint", 32)
            .map_err(&err)?;
        conn.execute_batch(SCHEMA).map_err(&err)?;
        Ok(JobStore::wrap(path, conn))
    }

    /// Opens an existing store without writing to it; `None` when there is none.
    pub fn open_read(path: &Path) -> Result<Option<JobStore>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        let err = at(path);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags).map_err(&err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(&err)?;
        Ok(Some(JobStore::wrap(path, conn)))
    }

    fn wrap(path: &Path, conn: Connection) -> JobStore {
        JobStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                conn: Mutex::new(conn),
                run: Mutex::new(None),
                pending: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.inner.conn.lock().expect("store connection");
        f(&mut conn).map_err(at(&self.inner.path))
    }

    /// The run this process writes as, once [`begin_run`](Self::begin_run) was called.
    fn run(&self) -> i64 {
        self.inner.run.lock().expect("run id").unwrap_or(0)
    }

    // ----- meta -----

    fn meta<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let text: Option<String> = self.with(|c| {
            c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
        })?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    fn set_meta_in(
        tx: &Connection,
        key: &str,
        value: &impl serde::Serialize,
    ) -> rusqlite::Result<()> {
        let text = serde_json::to_string(value).expect("meta serializes");
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, text],
        )?;
        Ok(())
    }

    /// The fingerprint of the input the stored outcomes belong to.
    pub fn fingerprint(&self) -> Result<Option<Fingerprint>, StoreError> {
        self.meta("fingerprint")
    }

    /// The layout the stored outcomes are rendered with.
    pub fn layout(&self) -> Result<Option<ResultsLayout>, StoreError> {
        Ok(self
            .meta::<records::StoredLayout>("layout")?
            .map(records::StoredLayout::into_layout))
    }

    /// How many data rows the input of the current run has, when known.
    pub fn total_rows(&self) -> Result<Option<u64>, StoreError> {
        self.meta("total_rows")
    }

    // ----- runs -----

    /// The runs, newest first, at most `n`.
    pub fn runs(&self, n: usize) -> Result<Vec<RunEntry>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, kind, started, finished, ending, exit_code, pid FROM runs
                 ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([n as i64], |r| {
                Ok(RunEntry {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    started: r.get(2)?,
                    finished: r.get(3)?,
                    ending: r.get(4)?,
                    exit_code: r.get(5)?,
                    pid: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The last run, when it never recorded its end: killed, or still
    /// running (the job lock tells which).
    pub fn unfinished(&self) -> Result<Option<RunEntry>, StoreError> {
        Ok(self
            .runs(1)?
            .into_iter()
            .next()
            .filter(|r| r.finished.is_none()))
    }

    /// Starts a run. `kind` is `fresh` (the earlier outcomes and intents
    /// are cleared; with `afresh` an unfinished run's outcomes were taken
    /// over first), or `resume` (they stay). Records the fingerprint and
    /// layout the outcomes belong to, all in one transaction.
    pub fn begin_run(
        &self,
        kind: &str,
        fingerprint: &Fingerprint,
        layout: &ResultsLayout,
        total_rows: Option<u64>,
    ) -> Result<i64, StoreError> {
        let id = self.with(|c| {
            let tx = c.transaction()?;
            if kind != "resume" {
                tx.execute("DELETE FROM outcomes", [])?;
                tx.execute("DELETE FROM intents", [])?;
            }
            // Until this run ends fully successful, no input counts as the
            // last one imported: `--if-changed` must not skip the next run.
            tx.execute("DELETE FROM meta WHERE key = 'last_success'", [])?;
            Self::set_meta_in(&tx, "fingerprint", fingerprint)?;
            Self::set_meta_in(&tx, "layout", &records::StoredLayout::of(layout))?;
            Self::set_meta_in(&tx, "total_rows", &total_rows)?;
            tx.execute(
                "INSERT INTO runs (started, pid, kind) VALUES (?1, ?2, ?3)",
                params![crate::log::rfc3339_now(), std::process::id(), kind],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })?;
        *self.inner.run.lock().expect("run id") = Some(id);
        Ok(id)
    }

    /// Records how the current run ended.
    pub fn end_run(&self, ending: &str, exit_code: u8) -> Result<(), StoreError> {
        self.commit_outcomes()?;
        let run = self.run();
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE runs SET finished = ?1, ending = ?2, exit_code = ?3 WHERE id = ?4",
                params![crate::log::rfc3339_now(), ending, exit_code, run],
            )?;
            if ending == "completed" || ending == "completed with problems" {
                // Every row has its outcome: no send is left to settle.
                tx.execute("DELETE FROM intents", [])?;
            }
            tx.commit()?;
            // Back to a single file between runs: readers (`status`, a dry
            // run, a refused run) then create no WAL files beside it.
            c.pragma_update(None, "journal_mode", "DELETE")
        })
    }

    // ----- intents -----

    /// Records, committed before it returns, that `row` is about to be sent
    /// when the highest product id the run had seen was `high_water`.
    pub fn mark_sending(&self, row: u64, high_water: i64) -> Result<(), StoreError> {
        let run = self.run();
        self.with(|c| {
            c.execute(
                "INSERT INTO intents (row, high_water, run, at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![row as i64, high_water, run, now_ms()],
            )
            .map(|_| ())
        })
    }

    /// The rows sent without an outcome that settles them: in the intents
    /// and without a kept outcome, each with its lowest high-water mark.
    pub fn maybe_sent(&self) -> Result<MaybeSent, StoreError> {
        let (rows, last_ms) = self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT i.row, MIN(i.high_water), MAX(i.at_ms) FROM intents i
                 LEFT JOIN outcomes o ON o.row = i.row
                 WHERE o.row IS NULL OR o.status NOT IN ('created', 'updated', 'skipped')
                 GROUP BY i.row",
            )?;
            let mut rows = HashMap::new();
            let mut last = 0i64;
            let found = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for item in found {
                let (row, mark, at) = item?;
                rows.insert(row as u64, mark);
                last = last.max(at);
            }
            Ok((rows, last))
        })?;
        let age = if rows.is_empty() {
            Duration::ZERO
        } else {
            Duration::from_millis(now_ms().saturating_sub(last_ms).max(0) as u64)
        };
        Ok(MaybeSent { rows, age })
    }

    // ----- outcomes -----

    /// Queues a row's outcome; it is committed with the next
    /// [`commit_outcomes`](Self::commit_outcomes). A created row's product
    /// is noted as the job's at the same commit.
    pub fn record(&self, record: &RowRecord, keys: KeyCells) {
        let (number, ean) = keys.keys_of(record);
        self.inner
            .pending
            .lock()
            .expect("pending outcomes")
            .push((record.clone(), number, ean));
    }

    /// Commits the queued outcomes in one transaction, with the products
    /// made by the created ones.
    pub fn commit_outcomes(&self) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut *self.inner.pending.lock().expect("pending outcomes"));
        if pending.is_empty() {
            return Ok(());
        }
        let run = self.run();
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut put = tx.prepare(
                    "INSERT INTO outcomes (row, run, status, record) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (row) DO UPDATE SET run = excluded.run,
                         status = excluded.status, record = excluded.record",
                )?;
                for (r, _, _) in &pending {
                    put.execute(params![
                        r.row as i64,
                        run,
                        r.status.as_str(),
                        records::encode(r)
                    ])?;
                }
            }
            for (r, number, ean) in &pending {
                if let (RowStatus::Created, Some(id)) = (r.status, r.id) {
                    tx.execute(
                        "INSERT INTO products (id, number, ean, deactivated) VALUES (?1, ?2, ?3, 0)
                         ON CONFLICT (id) DO UPDATE SET
                            number = COALESCE(excluded.number, number),
                            ean = COALESCE(excluded.ean, ean), deactivated = 0",
                        params![id, number, ean],
                    )?;
                }
            }
            tx.commit()
        })
    }

    /// Every stored outcome, in row order.
    pub fn outcomes(&self) -> Result<Vec<RowRecord>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT record FROM outcomes ORDER BY row")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for text in rows {
                if let Some(record) = records::decode(&text?) {
                    out.push(record);
                }
            }
            Ok(out)
        })
    }

    /// Rows by stored status, and the rows in the intents without an outcome.
    pub fn counts(&self) -> Result<(BTreeMap<String, u64>, u64), StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT status, COUNT(*) FROM outcomes GROUP BY status")?;
            let by = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })?
                .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
            let unknown: i64 = c.query_row(
                "SELECT COUNT(DISTINCT i.row) FROM intents i
                 LEFT JOIN outcomes o ON o.row = i.row WHERE o.row IS NULL",
                [],
                |r| r.get(0),
            )?;
            Ok((by, unknown as u64))
        })
    }

    // ----- the job's memory -----

    /// The job state: the products the job made (a product with a status
    /// change whose result was never recorded counts as deactivated, so a
    /// run that comes after a kill finishes or reverses it) and the last
    /// fully successful input.
    pub fn job_state(&self) -> Result<JobState, StoreError> {
        let last_success: Option<InputSeen> = self.meta("last_success")?;
        let products = self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT p.id, p.number, p.ean, p.deactivated OR EXISTS (
                     SELECT 1 FROM status_changes s WHERE s.id = p.id AND s.result IS NULL)
                 FROM products p",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    ManagedProduct {
                        number: r.get(1)?,
                        ean: r.get(2)?,
                        deactivated: r.get(3)?,
                    },
                ))
            })?;
            rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()
        })?;
        Ok(JobState {
            last_success,
            products,
        })
    }

    /// Saves the job state: its products, and the last successful input
    /// (set or cleared), in one transaction.
    pub fn save_state(&self, state: &JobState) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            for (id, p) in &state.products {
                tx.execute(
                    "INSERT INTO products (id, number, ean, deactivated) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET number = COALESCE(excluded.number, number),
                         ean = COALESCE(excluded.ean, ean), deactivated = excluded.deactivated",
                    params![id, p.number, p.ean, p.deactivated],
                )?;
            }
            match &state.last_success {
                Some(seen) => Self::set_meta_in(&tx, "last_success", seen)?,
                None => {
                    tx.execute("DELETE FROM meta WHERE key = 'last_success'", [])?;
                }
            }
            tx.commit()
        })
    }

    /// Records, committed before the PATCH, that product `id` is about to be
    /// set `action` (`deactivate` or `reactivate`); returns the intent's number.
    pub fn status_intent(
        &self,
        id: i64,
        number: Option<&str>,
        action: &str,
    ) -> Result<i64, StoreError> {
        let run = self.run();
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO products (id, number, deactivated) VALUES (?1, ?2, 0)
                 ON CONFLICT (id) DO UPDATE SET number = COALESCE(number, excluded.number)",
                params![id, number],
            )?;
            tx.execute(
                "INSERT INTO status_changes (id, action, run) VALUES (?1, ?2, ?3)",
                params![id, action, run],
            )?;
            let seq = tx.last_insert_rowid();
            tx.commit()?;
            Ok(seq)
        })
    }

    /// Records the result of a status change: `result` is what the missing
    /// file says (`deactivated`, `reactivated`, `failed`); the product's
    /// `deactivated` mark follows what the server now holds.
    pub fn status_result(&self, seq: i64, id: i64, result: &str) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE status_changes SET result = ?1 WHERE seq = ?2",
                params![result, seq],
            )?;
            if result != "failed" {
                // The product's status is known now: earlier changes cut
                // short are settled by this one.
                tx.execute(
                    "UPDATE status_changes SET result = 'settled' WHERE id = ?1 AND result IS NULL",
                    [id],
                )?;
            }
            match result {
                "deactivated" => {
                    tx.execute("UPDATE products SET deactivated = 1 WHERE id = ?1", [id])?;
                }
                "reactivated" => {
                    tx.execute("UPDATE products SET deactivated = 0 WHERE id = ?1", [id])?;
                }
                _ => {}
            }
            tx.commit()
        })
    }
}

/// A [`RecordSink`] that commits every outcome to the store before the
/// files render it: the store is written first, the files after.
pub struct StoredSink {
    store: JobStore,
    keys: KeyCells,
    inner: Box<dyn RecordSink>,
}

impl StoredSink {
    /// Records into `store`, then into `inner`.
    pub fn new(store: JobStore, keys: KeyCells, inner: Box<dyn RecordSink>) -> StoredSink {
        StoredSink { store, keys, inner }
    }

    fn failed(&self, e: StoreError) -> OutputError {
        OutputError {
            path: self.store.path().to_path_buf(),
            source: std::io::Error::other(e.source.to_string()),
        }
    }
}

impl RecordSink for StoredSink {
    fn write(&mut self, record: &RowRecord) -> Result<(), OutputError> {
        self.store.record(record, self.keys);
        self.inner.write(record)
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.store.commit_outcomes().map_err(|e| self.failed(e))?;
        self.inner.flush()
    }

    fn finish(self: Box<Self>) -> Result<(), OutputError> {
        self.store.commit_outcomes().map_err(|e| self.failed(e))?;
        self.inner.finish()
    }
}

fn at(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError {
        path: path.to_path_buf(),
        source,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests;
