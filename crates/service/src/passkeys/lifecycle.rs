//! R26: an administrator disables a passkey — kept, refused at sign-in with the reason, shown
//! as disabled on Security info — and enables it again; one at a time, or every passkey an
//! inventory filter selects, once the count the administrator saw is confirmed. Audited per
//! passkey; disabling ends the sessions the passkey opened, as deleting does.

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::Operation;
use portcullis_domain::directory::User;
use portcullis_domain::inventory::{Filter, State};
use portcullis_store::passkeys as store_pk;
use portcullis_store::{audit, commit, directory, Tx};
use uuid::Uuid;

use super::{passkey_json, reject, PasskeyError};
use crate::directory::{managed_user, security_info_record};
use crate::{Service, ServiceError};

/// Passkeys changed per transaction in a bulk change.
const BATCH: usize = 500;

impl Service {
    /// Disables (`disabled`) or enables one of `user`'s passkeys; `Ok(false)` when it already
    /// was so (nothing changes, nothing is logged).
    pub async fn set_passkey_disabled(
        &self,
        actor: &Actor,
        user: &str,
        id: Uuid,
        disabled: bool,
    ) -> Result<bool, PasskeyError> {
        let mut tx = self.store().begin().await?;
        let target = managed_user(&mut tx, actor, user).await?;
        let changed = self.change(&mut tx, actor, &target, id, disabled).await?;
        commit(tx).await?;
        Ok(changed)
    }

    /// How many passkeys `filter` selects that `actor` may change and that are not already
    /// `disabled` — the count to show before a bulk change.
    pub async fn passkeys_to_change(
        &self,
        actor: &Actor,
        filter: &Filter,
        disabled: bool,
    ) -> Result<u64, ServiceError> {
        Ok(u64::try_from(self.selection(actor, filter, disabled).await?.len()).unwrap_or(u64::MAX))
    }

    /// Disables or enables every passkey `filter` selects that `actor` may change — only if
    /// that is still `confirmed` passkeys (the count the administrator saw); otherwise nothing
    /// changes and the error says the new count. Returns how many changed.
    pub async fn set_passkeys_disabled(
        &self,
        actor: &Actor,
        filter: &Filter,
        disabled: bool,
        confirmed: u64,
    ) -> Result<u64, PasskeyError> {
        let selected = self.selection(actor, filter, disabled).await?;
        let now = u64::try_from(selected.len()).unwrap_or(u64::MAX);
        if now != confirmed {
            return Err(reject(
                "selectionChanged",
                format!("The filters now select {now} passkeys to change, not the {confirmed} you confirmed: nothing was changed. Review the count and confirm again."),
            ));
        }
        let mut changed = 0u64;
        for batch in selected.chunks(BATCH) {
            let mut tx = self.store().begin().await?;
            for (user, id) in batch {
                let Some(target) = directory::user_by_id(&mut tx, *user).await? else {
                    continue;
                };
                if self.change(&mut tx, actor, &target, *id, disabled).await? {
                    changed = changed.saturating_add(1);
                }
            }
            commit(tx).await?;
        }
        Ok(changed)
    }

    /// (user, passkey) of every passkey `filter` selects, `actor` may change, and whose state
    /// is not already the one asked for.
    async fn selection(
        &self,
        actor: &Actor,
        filter: &Filter,
        disabled: bool,
    ) -> Result<Vec<(Uuid, Uuid)>, ServiceError> {
        let mut scan = self
            .inventory(actor, filter.clone(), None)
            .await?
            .for_change();
        let mut out = vec![];
        while let Some((rows, _)) = scan.next_rows().await? {
            out.extend(
                rows.iter()
                    .filter(|r| (r.state == State::Disabled) != disabled)
                    .map(|r| (r.record.passkey.user_id, r.record.passkey.id)),
            );
        }
        Ok(out)
    }

    async fn change(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        target: &User,
        id: Uuid,
        disabled: bool,
    ) -> Result<bool, PasskeyError> {
        let now = self.now();
        let roles = directory::roles_of(tx, target.id).await?;
        portcullis_domain::actor::may_manage_methods(actor, target.id, &roles)
            .map_err(ServiceError::from)?;
        let p = super::manage::passkey_of(tx, target, id).await?;
        if !store_pk::set_disabled(tx, id, disabled.then_some("admin"), now).await? {
            return Ok(false);
        }
        if disabled {
            crate::sessions::end_what_it_opened(
                tx,
                p.passkey.user_id,
                id,
                "its passkey was disabled",
                now,
            )
            .await?;
        }
        let after = portcullis_domain::passkey::Passkey {
            disabled,
            ..p.passkey.clone()
        };
        let rec = security_info_record(
            if disabled {
                "Admin disabled security info"
            } else {
                "Admin enabled security info"
            },
            Operation::Update,
            actor,
            target,
            Some(passkey_json(tx, &p.passkey).await?),
            Some(passkey_json(tx, &after).await?),
            if disabled {
                "Admin disabled a passkey: it is kept, and refused at sign-in until enabled again"
                    .into()
            } else {
                "Admin enabled a passkey: it signs in again".into()
            },
        );
        audit::append(tx, &rec, now).await?;
        Ok(true)
    }
}
