//! R53: the adoption report — the records streamed through the domain's fold
//! ([`portcullis_domain::adoption::Adoption`]), passkeys a chunk at a time — and the
//! registration campaign's progress beside it.

use std::collections::{BTreeMap, HashMap};

use portcullis_domain::adoption::{Adoption, Life, Range, Report, SignInKind, UserFacts};
use portcullis_domain::metadata::builtin_names;
use portcullis_domain::policy::MethodId;
use portcullis_domain::Timestamp;
use portcullis_store::{adoption as store, campaign, directory, metadata, tenant};
use time::{Date, Duration};
use uuid::Uuid;

use crate::passkeys::fido2;
use crate::policy::current;
use crate::{Result, Service, ServiceError};

/// Passkeys read per query.
const CHUNK: i64 = 5_000;

/// The registration campaign's progress (R55).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignProgress {
    /// Whether it runs.
    pub running: bool,
    /// Users it has asked.
    pub asked: i64,
    /// Of those, users who postponed at least once.
    pub snoozers: i64,
    /// "Not now" answers in all.
    pub snoozes: i64,
}

/// The report with what the pages need to show it.
#[derive(Debug, Clone)]
pub struct AdoptionReport {
    /// The series and the breakdown.
    pub report: Report,
    /// Group names by id (the breakdown names groups by id).
    pub group_names: BTreeMap<Uuid, String>,
    /// The day the tenant was created (where the default range starts).
    pub tenant_created: Date,
    /// The registration campaign.
    pub campaign: CampaignProgress,
}

impl Service {
    /// The adoption report over `from`..=`to` (by default from the tenant's creation to
    /// today), rebuilt from the records.
    pub async fn adoption(&self, from: Option<Date>, to: Option<Date>) -> Result<AdoptionReport> {
        self.adoption_in_chunks(from, to, CHUNK).await
    }

    /// [`Service::adoption`], reading `chunk` passkeys per query (tests page with a small one).
    pub async fn adoption_in_chunks(
        &self,
        from: Option<Date>,
        to: Option<Date>,
        chunk: i64,
    ) -> Result<AdoptionReport> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let created = tenant::get(&mut c)
            .await?
            .map_or(now, |t| t.created_at)
            .date();
        let range = Range::new(from.unwrap_or(created), to.unwrap_or(now.date()))
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let cfg = fido2(current(&mut c, MethodId::Fido2).await?);
        let mut names: BTreeMap<Uuid, String> =
            builtin_names().map(|(a, n)| (a, n.to_string())).collect();
        names.extend(metadata::names(&mut c).await?);
        let group_names: BTreeMap<Uuid, String> = directory::list_groups(&mut c)
            .await?
            .into_iter()
            .map(|g| (g.id, g.display_name))
            .collect();
        // Given back before the bulk reads (which use the reader's own connections): held
        // through them, it would be one connection fewer for every other request.
        drop(c);
        let mut member_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (user, group) in directory::all_memberships(self.store().reader()).await? {
            member_of.entry(user).or_default().push(group);
        }
        let users = store::users(self.store().reader()).await?;

        let mut fold = Adoption::new(range);
        let fold_user =
            |fold: &mut Adoption, created: Option<Timestamp>, lived: &[store::Lived]| {
                let lives: Vec<Life<'_>> = lived
                    .iter()
                    .map(|(p, deleted, disabled)| Life {
                        passkey: p,
                        deleted_at: *deleted,
                        disabled_at: *disabled,
                        model: names.get(&p.aaguid).map(String::as_str),
                    })
                    .collect();
                let owner = lived.first().map(|(p, _, _)| p.user_id);
                let groups = owner
                    .and_then(|u| member_of.get(&u))
                    .map_or(&[][..], Vec::as_slice);
                // An account's passkeys go with it, so every owner read is a user read.
                if let Some(created_at) = created {
                    fold.user(
                        &cfg,
                        &UserFacts {
                            created_at,
                            member_of: groups,
                        },
                        &lives,
                    );
                }
            };
        // One pass over every passkey, in chunks ordered by owner: each owner's passkeys
        // arrive together, and the users left over hold none.
        let mut unseen: HashMap<Uuid, Timestamp> = users.into_iter().collect();
        let mut group: Vec<store::Lived> = vec![];
        let mut cursor = None;
        loop {
            let rows = store::lives(self.store().reader(), cursor, chunk.max(1)).await?;
            let last = rows.len() < usize::try_from(chunk.max(1)).unwrap_or(usize::MAX);
            if let Some((p, _, _)) = rows.last() {
                cursor = Some((p.user_id, p.id));
            }
            for lived in rows {
                if group
                    .first()
                    .is_some_and(|(p, _, _)| p.user_id != lived.0.user_id)
                {
                    let owner = group.first().map(|(p, _, _)| p.user_id).unwrap_or_default();
                    fold_user(&mut fold, unseen.remove(&owner), &group);
                    group.clear();
                }
                group.push(lived);
            }
            if last {
                break;
            }
        }
        if let Some(owner) = group.first().map(|(p, _, _)| p.user_id) {
            fold_user(&mut fold, unseen.remove(&owner), &group);
        }
        for (user, created_at) in unseen {
            let groups = member_of.get(&user).map_or(&[][..], Vec::as_slice);
            fold.user(
                &cfg,
                &UserFacts {
                    created_at,
                    member_of: groups,
                },
                &[],
            );
        }

        for at in store::first_passkey_sign_ins(self.store().reader()).await? {
            fold.first_passkey_sign_in(at);
        }
        for (day, method, n) in
            store::sign_ins_per_day(self.store().reader(), range.start(), range.end()).await?
        {
            let kind = match method.as_str() {
                "passkey" => SignInKind::Passkey,
                "temporaryAccessPass" => SignInKind::TemporaryAccessPass,
                _ => continue,
            };
            let date = Timestamp::UNIX_EPOCH
                .checked_add(Duration::days(day))
                .map(|t| t.date());
            if let Some(d) = date {
                fold.sign_ins(d, kind, u64::try_from(n).unwrap_or_default());
            }
        }
        for (pk, tap) in
            store::sign_ins_per_user(self.store().reader(), range.start(), range.end()).await?
        {
            fold.user_sign_ins(
                u64::try_from(pk).unwrap_or_default(),
                u64::try_from(tap).unwrap_or_default(),
            );
        }
        let mut c = self.store().conn().await?;
        let (asked, snoozers, snoozes) = campaign::totals(&mut c).await?;
        let running = crate::campaign::configured(&mut c).await?.is_running();
        Ok(AdoptionReport {
            report: fold.finish(),
            group_names,
            tenant_created: created,
            campaign: CampaignProgress {
                running,
                asked,
                snoozers,
                snoozes,
            },
        })
    }
}

/// "Ready to enforce?": what requiring a strength of everyone would do today.
#[derive(Debug, Clone)]
pub struct EnforcementImpact {
    /// The strength's name.
    pub strength: String,
    /// Users analysed (enabled accounts).
    pub users: usize,
    /// Users who already hold a usable passkey that meets it.
    pub ready: usize,
    /// Users who do not, and can add one: stopped at their next sign-in until they do.
    pub must_register: Vec<String>,
    /// Users the readiness engine finds blocked under it: no way in at all, not even with a
    /// Temporary Access Pass.
    pub stranded: Vec<String>,
}

impl Service {
    /// R53 with R51: requiring strength `id` of all users on all resources — who already
    /// meets it with a passkey they hold (the passkey rules and the strength's own
    /// combinations), who must register first, and whom the readiness engine, given it as a
    /// proposal, finds with no way in.
    pub async fn enforcement_impact(&self, id: &str) -> Result<EnforcementImpact> {
        let data = self.ca_data().await?;
        let strength = data.strengths.iter().find(|s| s.id == id).ok_or_else(|| {
            ServiceError::NotFound(format!("no authentication strength with id '{id}'"))
        })?;
        let mut proposal = crate::readiness::Proposal::default();
        proposal.add(serde_json::json!({
            "@odata.type": "#microsoft.graph.conditionalAccessPolicy",
            "displayName": format!("Proposed: require {} for everyone", strength.display_name),
            "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": strength.id}},
        }))?;
        let r = self.readiness(&[], Some(&proposal)).await?;
        // Under the proposed configuration, whoever has a blocker has no way in.
        let stranded_ids: std::collections::HashSet<Uuid> = r
            .findings
            .iter()
            .filter(|f| f.severity == portcullis_domain::readiness::Severity::Blocker)
            .map(|f| f.user)
            .collect();
        let mut c = self.store().conn().await?;
        let cfg = fido2(current(&mut c, MethodId::Fido2).await?);
        // Given back before the bulk reads (which use the reader's own connections): held
        // through them, it would be one connection fewer for every other request.
        drop(c);
        let mut member_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (user, group) in directory::all_memberships(self.store().reader()).await? {
            member_of.entry(user).or_default().push(group);
        }
        let mut meets: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
        for p in portcullis_store::passkeys::all_live(self.store().reader()).await? {
            let groups = member_of.get(&p.user_id).map_or(&[][..], Vec::as_slice);
            let used = portcullis_domain::strength::UsedMethod::passkey(Some(p.aaguid), p.attested);
            if portcullis_domain::passkey::sign_in_usability(&cfg, groups, &p).is_ok()
                && strength.satisfied_by(&[used])
            {
                meets.insert(p.user_id);
            }
        }
        let upns = |f: &dyn Fn(Uuid) -> bool| -> Vec<String> {
            r.users
                .iter()
                .filter(|u| f(u.id))
                .map(|u| u.user_principal_name.to_string())
                .collect()
        };
        Ok(EnforcementImpact {
            strength: strength.display_name.clone(),
            users: r.users.len(),
            ready: r.users.iter().filter(|u| meets.contains(&u.id)).count(),
            must_register: upns(&|u| !meets.contains(&u) && !stranded_ids.contains(&u)),
            stranded: upns(&|u| stranded_ids.contains(&u)),
        })
    }
}
