//! The passkey inventory (R52), read a chunk at a time: each chunk is one query on a
//! connection given back before the next, the domain judges each row
//! ([`portcullis_domain::inventory::row`]), and the caller — the CLI writing a file, the
//! server streaming a response, the admin center's page — renders what it gets. Memory is
//! two chunks, however many passkeys there are: the next chunk is read while this one is
//! judged and rendered.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use portcullis_domain::actor::Actor;
use portcullis_domain::directory::DirectoryRole;
use portcullis_domain::inventory::Record;
use portcullis_domain::inventory::{self, Filter, Judge, Purpose, Row};
use portcullis_domain::metadata::builtin_names;
use portcullis_domain::policy::{Fido2Configuration, MethodConfiguration, MethodId};
use portcullis_store::bulk::Reader;
use portcullis_store::inventory::{self as store_inv, Cursor, Pushdown};
use portcullis_store::{directory, metadata};
use serde_json::Value;
use uuid::Uuid;

use crate::{Result, Service, ServiceError};

/// Passkeys read per query.
const CHUNK: i64 = 5_000;

/// A scan of the inventory in progress.
pub struct Scan {
    svc: Service,
    reader: Actor,
    filter: Filter,
    current: Fido2Configuration,
    proposed: Option<Fido2Configuration>,
    names: BTreeMap<Uuid, String>,
    roles: HashMap<Uuid, Vec<DirectoryRole>>,
    groups_read: BTreeSet<Uuid>,
    push: Pushdown,
    cursor: Option<Cursor>,
    done: bool,
    purpose: Purpose,
    /// The next chunk, being read.
    ahead: Option<Ahead>,
}

/// A chunk's passkeys, and their owners' memberships in the groups the policy reads.
type Fetched = (Vec<Record>, Vec<(Uuid, Uuid)>);
type Ahead = tokio::task::JoinHandle<portcullis_store::Result<Fetched>>;

/// Starts reading the chunk after `after` (on another worker, beside the caller's work).
fn fetch(reader: Reader, push: Pushdown, after: Option<Cursor>, groups: BTreeSet<Uuid>) -> Ahead {
    tokio::spawn(async move {
        let records = store_inv::chunk(&reader, &push, after, CHUNK).await?;
        let members = match (records.first(), records.last()) {
            (Some(first), Some(last)) => {
                store_inv::memberships(
                    &reader,
                    first.passkey.user_id,
                    last.passkey.user_id,
                    &groups,
                )
                .await?
            }
            _ => vec![],
        };
        Ok((records, members))
    })
}

impl Drop for Scan {
    /// A scan given up half-way (a client that went away) stops reading ahead.
    fn drop(&mut self) {
        if let Some(ahead) = self.ahead.take() {
            ahead.abort();
        }
    }
}

impl Scan {
    fn fetch(&self, after: Option<Cursor>) -> Ahead {
        fetch(
            self.svc.store().reader().clone(),
            self.push.clone(),
            after,
            self.groups_read.clone(),
        )
    }

    /// Whether a proposed configuration is judged beside the current one.
    pub fn has_proposal(&self) -> bool {
        self.proposed.is_some()
    }

    /// Selects only the passkeys the reader may change (rather than view): a bulk change's
    /// selection.
    pub fn for_change(mut self) -> Scan {
        self.purpose = Purpose::Manage;
        self
    }

    /// How many passkeys the store selects before the domain's filters (usable, who may
    /// view): the most this scan yields, a progress bar's length.
    pub async fn upper_bound(&self) -> Result<u64> {
        let n = store_inv::count(self.svc.store().reader(), &self.push).await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// The next rows, or `None` at the end; `read` says how many passkeys were read for them
    /// (rows the filters leave out included), for a progress bar.
    pub async fn next_rows(&mut self) -> Result<Option<(Vec<Row>, u64)>> {
        let mut read = 0u64;
        while !self.done {
            let reading = match self.ahead.take() {
                Some(ahead) => ahead,
                None => self.fetch(self.cursor),
            };
            let (records, members) = reading
                .await
                .map_err(|e| ServiceError::Internal(format!("an inventory read stopped: {e}")))??;
            self.done = records.len() < usize::try_from(CHUNK).unwrap_or(usize::MAX);
            let Some(last) = records.last() else {
                break;
            };
            self.cursor = Some((last.passkey.user_id, last.passkey.id));
            if !self.done {
                self.ahead = Some(self.fetch(self.cursor));
            }
            read = read.saturating_add(u64::try_from(records.len()).unwrap_or_default());
            let mut member_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
            for (user, group) in members {
                member_of.entry(user).or_default().push(group);
            }
            let judge = Judge {
                reader: &self.reader,
                purpose: self.purpose,
                current: &self.current,
                proposed: self.proposed.as_ref(),
            };
            let rows: Vec<Row> = records
                .iter()
                .filter_map(|r| {
                    let user = r.passkey.user_id;
                    inventory::row(
                        &judge,
                        &self.filter,
                        r,
                        self.names.get(&r.passkey.aaguid).map(String::as_str),
                        member_of.get(&user).map_or(&[], Vec::as_slice),
                        self.roles.get(&user).map_or(&[], Vec::as_slice),
                    )
                })
                .collect();
            if !rows.is_empty() {
                return Ok(Some((rows, read)));
            }
        }
        Ok((read > 0).then_some((vec![], read)))
    }
}

impl Service {
    /// Starts a scan of the inventory for `reader` (who sees the passkeys of the users whose
    /// methods they may view), selected by `filter`, each passkey judged under the current
    /// Passkey (FIDO2) configuration and, given `proposed` (a Graph
    /// fido2AuthenticationMethodConfiguration, applied as a PATCH of the current one), under
    /// that one too.
    pub async fn inventory(
        &self,
        reader: &Actor,
        filter: Filter,
        proposed: Option<Value>,
    ) -> Result<Scan> {
        let mut c = self.store().conn().await?;
        let stored = crate::policy::current(&mut c, MethodId::Fido2).await?;
        let current = fido2(&stored)?;
        let proposed = match proposed {
            None => None,
            Some(doc) => Some(fido2(&stored.patched(doc).map_err(|e| {
                ServiceError::Invalid(format!(
                    "the proposed fido2AuthenticationMethodConfiguration: {e}"
                ))
            })?)?),
        };
        // The metadata store's names over the built-in ones, as a passkey's model is named
        // everywhere else.
        let mut names: BTreeMap<Uuid, String> =
            builtin_names().map(|(a, n)| (a, n.to_string())).collect();
        names.extend(metadata::names(&mut c).await?);
        // Given back before the bulk reads (which use the reader's own connections): held
        // through them, it would be one connection fewer for every other request.
        drop(c);
        let mut roles: HashMap<Uuid, Vec<DirectoryRole>> = HashMap::new();
        for (user, role) in directory::all_role_assignments(self.store().reader()).await? {
            roles.entry(user).or_default().push(role);
        }
        let aaguids = match (filter.aaguid, filter.models(&names)) {
            (None, None) => None,
            (Some(a), None) => Some(BTreeSet::from([a])),
            (None, Some(m)) => Some(m),
            (Some(a), Some(m)) => Some(m.into_iter().filter(|x| *x == a).collect()),
        };
        let push = Pushdown {
            aaguids,
            attested: filter.attested,
            synced: filter.synced,
            unused_since: filter.unused_since,
            group: filter.group,
        };
        let groups_read = inventory::groups_read(&current, proposed.as_ref(), &filter);
        Ok(Scan {
            svc: self.clone(),
            reader: reader.clone(),
            filter,
            current,
            proposed,
            names,
            roles,
            groups_read,
            push,
            cursor: None,
            done: false,
            purpose: Purpose::View,
            ahead: None,
        })
    }
}

fn fido2(c: &MethodConfiguration) -> Result<Fido2Configuration> {
    match c {
        MethodConfiguration::Fido2(f) => Ok(f.clone()),
        _ => Err(ServiceError::Internal(
            "the stored Passkey (FIDO2) configuration is of another method".into(),
        )),
    }
}
