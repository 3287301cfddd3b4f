//! `TenantStore`: the `businesses` table in SQLite (the seed's business settings), the notes
//! a business keeps about callers, and (in [`crate::tenant_numbers`]) the numbers it is called at.
//!
//! Queries are short, so the connection sits behind a `std::sync::Mutex` and is called
//! synchronously. `spawn_blocking` is deliberately avoided: it would break the harness's paused
//! virtual clock.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::ServerError;

/// One business (tenant) and its prompts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// URL slug, e.g. `acme`.
    pub slug: String,
    /// Display name, e.g. `Acme`.
    pub business_name: String,
    /// Prompt for inbound calls (the seed's `ai_prompt`); may be empty or absent.
    pub inbound_prompt: Option<String>,
    /// Prompt for outbound calls (the seed's `outbound_ai_prompt`); may be empty or absent.
    pub outbound_prompt: Option<String>,
    /// Optional greeting the assistant speaks first.
    pub greeting: Option<String>,
    /// Optional Realtime voice.
    pub voice: Option<String>,
    /// Incremented on every change; used to detect stale prompts.
    pub version: i64,
    /// Wall-clock time of the last change (informational, never compared or snapshotted).
    pub updated_at: Option<String>,
}

/// The fixture API's body for creating or replacing a tenant.
///
/// Unknown fields are refused: a typo such as `inbound_promt` would otherwise store an empty
/// inbound prompt, which is exactly the seed bug's trigger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantInput {
    /// Display name.
    pub business_name: String,
    /// Prompt for inbound calls.
    #[serde(default)]
    pub inbound_prompt: Option<String>,
    /// Prompt for outbound calls.
    #[serde(default)]
    pub outbound_prompt: Option<String>,
    /// Optional greeting.
    #[serde(default)]
    pub greeting: Option<String>,
    /// Optional voice.
    #[serde(default)]
    pub voice: Option<String>,
}

/// SQLite-backed tenant store.
#[derive(Debug)]
pub struct TenantStore {
    conn: Mutex<Connection>,
}

impl TenantStore {
    /// Opens (and creates if needed) the database at `path`; `:memory:` gives a private database.
    pub fn open(path: &Path) -> Result<TenantStore, ServerError> {
        let mut conn = if path.as_os_str() == ":memory:" {
            Connection::open_in_memory()?
        } else {
            Connection::open(path)?
        };
        migrate(&mut conn)?;
        Ok(TenantStore {
            conn: Mutex::new(conn),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite in a torn state, so a poisoned
        // mutex is still safe to use.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Looks a tenant up by slug.
    pub fn get(&self, slug: &str) -> Result<Option<Tenant>, rusqlite::Error> {
        let conn = self.lock();
        conn.query_row(
            "SELECT slug, name, ai_prompt, outbound_ai_prompt, greeting, voice, version, updated_at
             FROM businesses WHERE slug = ?1",
            params![slug],
            tenant_from_row,
        )
        .optional()
    }

    /// The tenant stored first (the seed's `business_id = 1`), if any; only the
    /// default-tenant bug asks for it.
    pub fn first(&self) -> Result<Option<Tenant>, rusqlite::Error> {
        let conn = self.lock();
        conn.query_row(
            "SELECT slug, name, ai_prompt, outbound_ai_prompt, greeting, voice, version, updated_at
             FROM businesses ORDER BY rowid LIMIT 1",
            [],
            tenant_from_row,
        )
        .optional()
    }

    /// Creates or replaces a tenant, bumping its version, and returns the stored row.
    pub fn upsert(&self, slug: &str, input: &TenantInput) -> Result<Tenant, rusqlite::Error> {
        upsert_row(&self.lock(), slug, input)?;
        self.get(slug)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
    }

    /// Creates or replaces the notes a tenant keeps about the caller at `phone` (the seed's lead
    /// notes).
    pub fn upsert_contact(
        &self,
        slug: &str,
        phone: &str,
        notes: &str,
    ) -> Result<(), rusqlite::Error> {
        self.lock().execute(
            "INSERT INTO contacts (tenant, phone, notes) VALUES (?1, ?2, ?3)
             ON CONFLICT(tenant, phone) DO UPDATE SET notes = excluded.notes",
            params![slug, phone, notes],
        )?;
        Ok(())
    }

    /// The notes a tenant keeps about the caller at `phone`, if any.
    pub fn contact_notes(
        &self,
        slug: &str,
        phone: &str,
    ) -> Result<Option<String>, rusqlite::Error> {
        self.lock()
            .query_row(
                "SELECT notes FROM contacts WHERE tenant = ?1 AND phone = ?2",
                params![slug, phone],
                |row| row.get(0),
            )
            .optional()
    }
}

/// The schema, one step per version; `PRAGMA user_version` records how many steps a database
/// has had. Every step is idempotent, because databases written before the versioning began are
/// at version 0 but already hold the first step's tables, and they must keep working.
const MIGRATIONS: &[&str] = &[
    // 1: businesses and the notes they keep about callers.
    "CREATE TABLE IF NOT EXISTS businesses (
        slug TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        ai_prompt TEXT,
        outbound_ai_prompt TEXT,
        greeting TEXT,
        voice TEXT,
        version INTEGER NOT NULL,
        updated_at TEXT
    );
    CREATE TABLE IF NOT EXISTS contacts (
        tenant TEXT NOT NULL,
        phone TEXT NOT NULL,
        notes TEXT NOT NULL,
        PRIMARY KEY (tenant, phone)
    );",
    // 2: the phone numbers a business is called at; the primary key makes a number belong to at
    // most one business.
    "CREATE TABLE IF NOT EXISTS tenant_numbers (
        number TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        position INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS tenant_numbers_by_tenant ON tenant_numbers (tenant, position);",
];

/// Brings the schema up to date, each step in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(0);
    for (done, step) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", done + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Inserts or replaces the `businesses` row of `slug`, bumping its version.
pub(crate) fn upsert_row(
    conn: &Connection,
    slug: &str,
    input: &TenantInput,
) -> Result<(), rusqlite::Error> {
    conn.execute(
        "INSERT INTO businesses (slug, name, ai_prompt, outbound_ai_prompt, greeting, voice, version, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
         ON CONFLICT(slug) DO UPDATE SET
            name = excluded.name,
            ai_prompt = excluded.ai_prompt,
            outbound_ai_prompt = excluded.outbound_ai_prompt,
            greeting = excluded.greeting,
            voice = excluded.voice,
            version = businesses.version + 1,
            updated_at = excluded.updated_at",
        params![
            slug,
            input.business_name,
            input.inbound_prompt,
            input.outbound_prompt,
            input.greeting,
            input.voice,
            wall_clock_stamp(),
        ],
    )?;
    Ok(())
}

/// A `businesses` row, selected in the column order of [`TenantStore::get`].
fn tenant_from_row(row: &rusqlite::Row<'_>) -> Result<Tenant, rusqlite::Error> {
    Ok(Tenant {
        slug: row.get(0)?,
        business_name: row.get(1)?,
        inbound_prompt: row.get(2)?,
        outbound_prompt: row.get(3)?,
        greeting: row.get(4)?,
        voice: row.get(5)?,
        version: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

/// Unix seconds as text, only for the informational `updated_at` column (fixture path only).
fn wall_clock_stamp() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_bumps_version_and_keeps_empty_prompts() {
        let store = TenantStore::open(Path::new(":memory:")).unwrap();
        assert_eq!(store.get("acme").unwrap(), None);
        let input = TenantInput {
            business_name: "Acme".into(),
            inbound_prompt: Some(String::new()),
            outbound_prompt: Some("Sell.".into()),
            ..TenantInput::default()
        };
        let first = store.upsert("acme", &input).unwrap();
        assert_eq!(first.version, 1);
        assert_eq!(first.inbound_prompt.as_deref(), Some(""));
        let second = store
            .upsert(
                "acme",
                &TenantInput {
                    voice: Some("marin".into()),
                    ..input
                },
            )
            .unwrap();
        assert_eq!(second.version, 2);
        assert_eq!(second.voice.as_deref(), Some("marin"));
        assert_eq!(store.get("acme").unwrap(), Some(second));
    }

    #[test]
    fn first_is_the_earliest_stored_tenant_even_after_edits() {
        let store = TenantStore::open(Path::new(":memory:")).unwrap();
        assert_eq!(store.first().unwrap(), None);
        let named = |name: &str| TenantInput {
            business_name: name.into(),
            ..TenantInput::default()
        };
        store.upsert("zeta", &named("Zeta")).unwrap();
        store.upsert("alpha", &named("Alpha")).unwrap();
        store.upsert("zeta", &named("Zeta Two")).unwrap();
        let first = store.first().unwrap().unwrap();
        assert_eq!(first.slug, "zeta");
        assert_eq!(first.business_name, "Zeta Two");
    }

    #[test]
    fn contact_notes_are_per_tenant_and_phone_and_replaced_on_upsert() {
        let store = TenantStore::open(Path::new(":memory:")).unwrap();
        assert_eq!(store.contact_notes("acme", "+1555").unwrap(), None);
        store
            .upsert_contact("acme", "+1555", "Prefers mornings.")
            .unwrap();
        store
            .upsert_contact("bobs", "+1555", "Owns two bikes.")
            .unwrap();
        store
            .upsert_contact("acme", "+1555", "Prefers evenings.")
            .unwrap();
        assert_eq!(
            store.contact_notes("acme", "+1555").unwrap().as_deref(),
            Some("Prefers evenings.")
        );
        assert_eq!(
            store.contact_notes("bobs", "+1555").unwrap().as_deref(),
            Some("Owns two bikes.")
        );
        assert_eq!(store.contact_notes("acme", "+1666").unwrap(), None);
    }

    #[test]
    fn a_database_written_before_versioning_keeps_its_tenants_and_gains_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            // The schema as it was before `user_version` was kept, with one tenant in it.
            let old = Connection::open(&path).unwrap();
            old.execute_batch(MIGRATIONS[0]).unwrap();
            old.execute(
                "INSERT INTO businesses (slug, name, ai_prompt, version) VALUES ('acme', 'Acme', 'Hi.', 3)",
                [],
            )
            .unwrap();
        }
        let store = TenantStore::open(&path).unwrap();
        let acme = store.get("acme").unwrap().unwrap();
        assert_eq!(
            (acme.inbound_prompt.as_deref(), acme.version),
            (Some("Hi."), 3)
        );
        let version: usize = store
            .lock()
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        assert_eq!(store.numbers("acme").unwrap(), Vec::<String>::new());
        // Opening it again applies nothing twice.
        drop(store);
        assert!(
            TenantStore::open(&path)
                .unwrap()
                .get("acme")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn file_database_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let input = TenantInput {
            business_name: "Acme".into(),
            ..TenantInput::default()
        };
        TenantStore::open(&path)
            .unwrap()
            .upsert("acme", &input)
            .unwrap();
        let reopened = TenantStore::open(&path).unwrap();
        assert_eq!(reopened.get("acme").unwrap().map(|t| t.version), Some(1));
    }
}
