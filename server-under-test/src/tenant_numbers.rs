//! The phone numbers a tenant is called at (the seed's business phone numbers), kept in the
//! `tenant_numbers` table of the [`TenantStore`].
//!
//! A tenant may have several numbers, in the order they were given; a number belongs to at most
//! one tenant. A tenant's settings and its numbers are stored in one transaction, so a request
//! that would take another tenant's number changes nothing at all.

use rusqlite::{Connection, OptionalExtension, params};

use crate::tenants::{Tenant, TenantInput, TenantStore, upsert_row};

/// Why a tenant and its numbers could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum UpsertError {
    /// One of the numbers already belongs to another tenant.
    #[error("number {number} already belongs to tenant \"{owner}\"")]
    NumberTaken {
        /// The contested number.
        number: String,
        /// The tenant that has it.
        owner: String,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
}

impl TenantStore {
    /// Creates or replaces a tenant, bumping its version, and, when `numbers` is given, replaces
    /// its numbers with them (`Some(&[])` removes them all; `None` keeps them as they are).
    /// Repeated numbers are stored once, at their first position.
    pub fn upsert_with_numbers(
        &self,
        slug: &str,
        input: &TenantInput,
        numbers: Option<&[String]>,
    ) -> Result<Tenant, UpsertError> {
        {
            let mut conn = self.lock();
            let tx = conn.transaction()?;
            if let Some(numbers) = numbers
                && let Some((number, owner)) = first_taken(&tx, slug, numbers)?
            {
                return Err(UpsertError::NumberTaken { number, owner });
            }
            upsert_row(&tx, slug, input)?;
            if let Some(numbers) = numbers {
                replace_numbers(&tx, slug, numbers)?;
            }
            tx.commit()?;
        }
        Ok(self
            .get(slug)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?)
    }

    /// The numbers of the tenant `slug`, in the order they were given.
    pub fn numbers(&self, slug: &str) -> Result<Vec<String>, rusqlite::Error> {
        let conn = self.lock();
        let mut query =
            conn.prepare("SELECT number FROM tenant_numbers WHERE tenant = ?1 ORDER BY position")?;
        let rows = query.query_map(params![slug], |row| row.get(0))?;
        rows.collect()
    }

    /// The slug of the tenant that has `number`, if any.
    pub fn owner_of_number(&self, number: &str) -> Result<Option<String>, rusqlite::Error> {
        self.lock()
            .query_row(
                "SELECT tenant FROM tenant_numbers WHERE number = ?1",
                params![number],
                |row| row.get(0),
            )
            .optional()
    }
}

/// The first of `numbers` that a tenant other than `slug` has, with that tenant's slug.
fn first_taken(
    conn: &Connection,
    slug: &str,
    numbers: &[String],
) -> Result<Option<(String, String)>, rusqlite::Error> {
    let mut query =
        conn.prepare("SELECT tenant FROM tenant_numbers WHERE number = ?1 AND tenant <> ?2")?;
    for number in numbers {
        let owner: Option<String> = query
            .query_row(params![number, slug], |row| row.get(0))
            .optional()?;
        if let Some(owner) = owner {
            return Ok(Some((number.clone(), owner)));
        }
    }
    Ok(None)
}

/// Replaces the numbers of `slug` with `numbers`.
fn replace_numbers(
    conn: &Connection,
    slug: &str,
    numbers: &[String],
) -> Result<(), rusqlite::Error> {
    conn.execute(
        "DELETE FROM tenant_numbers WHERE tenant = ?1",
        params![slug],
    )?;
    let mut insert = conn.prepare(
        "INSERT INTO tenant_numbers (number, tenant, position) VALUES (?1, ?2, ?3)
         ON CONFLICT(number) DO NOTHING",
    )?;
    for (position, number) in numbers.iter().enumerate() {
        insert.execute(params![number, slug, position])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn named(name: &str) -> TenantInput {
        TenantInput {
            business_name: name.into(),
            ..TenantInput::default()
        }
    }

    fn owned(numbers: &[&str]) -> Vec<String> {
        numbers.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn numbers_are_kept_in_order_replaced_when_given_and_kept_when_not() {
        let store = TenantStore::open(Path::new(":memory:")).unwrap();
        let two = owned(&["+15550002222", "+15550001111", "+15550002222"]);
        store
            .upsert_with_numbers("acme", &named("Acme"), Some(&two))
            .unwrap();
        assert_eq!(
            store.numbers("acme").unwrap(),
            owned(&["+15550002222", "+15550001111"])
        );
        assert_eq!(
            store.owner_of_number("+15550001111").unwrap().as_deref(),
            Some("acme")
        );

        let edited = store
            .upsert_with_numbers("acme", &named("Acme Two"), None)
            .unwrap();
        assert_eq!(edited.version, 2);
        assert_eq!(store.numbers("acme").unwrap().len(), 2, "None keeps them");

        store
            .upsert_with_numbers("acme", &named("Acme"), Some(&owned(&["+15550003333"])))
            .unwrap();
        assert_eq!(store.numbers("acme").unwrap(), owned(&["+15550003333"]));
        assert_eq!(store.owner_of_number("+15550001111").unwrap(), None);

        store
            .upsert_with_numbers("acme", &named("Acme"), Some(&[]))
            .unwrap();
        assert_eq!(store.numbers("acme").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn another_tenants_number_is_refused_and_changes_nothing() {
        let store = TenantStore::open(Path::new(":memory:")).unwrap();
        store
            .upsert_with_numbers("acme", &named("Acme"), Some(&owned(&["+15550001111"])))
            .unwrap();
        store
            .upsert_with_numbers("bobs", &named("Bob's"), Some(&owned(&["+15550002222"])))
            .unwrap();
        let grab = owned(&["+15550003333", "+15550001111"]);
        let err = store
            .upsert_with_numbers("bobs", &named("Bob's Renamed"), Some(&grab))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "number +15550001111 already belongs to tenant \"acme\""
        );
        let bobs = store.get("bobs").unwrap().unwrap();
        assert_eq!((bobs.business_name.as_str(), bobs.version), ("Bob's", 1));
        assert_eq!(store.numbers("bobs").unwrap(), owned(&["+15550002222"]));
        assert_eq!(store.owner_of_number("+15550003333").unwrap(), None);
        // A tenant may give its own numbers again.
        store
            .upsert_with_numbers("acme", &named("Acme"), Some(&owned(&["+15550001111"])))
            .unwrap();
    }
}
