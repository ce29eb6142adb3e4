//! Seeing and removing passkeys (R25), for the user and for administrators, and the
//! registration-details report.

use super::*;

impl Service {
    /// A user's passkeys, each with its model name and whether it can sign in now (R5, R20).
    pub async fn passkeys_of(&self, user: &User) -> Result<Vec<PasskeyView>, PasskeyError> {
        let mut c = self.store().conn().await?;
        let (cfg, member_of) = policy_for(&mut c, user.id).await?;
        let mut out = vec![];
        for stored in store_pk::for_user(&mut c, user.id).await? {
            let model = match portcullis_store::metadata::get(&mut c, stored.passkey.aaguid).await?
            {
                Some(m) => Some(m.name),
                None => builtin_name(stored.passkey.aaguid).map(str::to_string),
            };
            out.push(PasskeyView {
                model,
                usable: passkey::sign_in_usability(&cfg, &member_of, &stored.passkey),
                stored,
            });
        }
        Ok(out)
    }

    /// R25: the user removes one of their passkeys.
    pub async fn delete_own_passkey(&self, user: &User, id: Uuid) -> Result<(), PasskeyError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let p = store_pk::by_id(&mut tx, id)
            .await?
            .filter(|p| p.passkey.user_id == user.id)
            .ok_or_else(|| reject("notFound", "You have no such passkey."))?;
        delete_and_end(&mut tx, &p, "user", now).await?;
        let rec = security_info_record(
            "User deleted security info",
            Operation::Delete,
            &self_actor(user),
            user,
            Some(passkey_json(&mut tx, &p.passkey).await?),
            None,
            "User deleted a passkey".into(),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(())
    }
}

impl Service {
    /// Security info: a user renames one of their passkeys; audited.
    pub async fn rename_own_passkey(
        &self,
        user: &User,
        id: Uuid,
        name: &str,
    ) -> Result<String, PasskeyError> {
        let name = portcullis_domain::directory::validate_display_name(name)
            .map_err(|e| reject("invalidName", format!("That name cannot be used: {e}.")))?;
        if name.chars().count() > super::NAME_MAX {
            return Err(reject(
                "invalidName",
                format!(
                    "That name cannot be used: a passkey's name is at most {} characters.",
                    super::NAME_MAX
                ),
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let p = store_pk::by_id(&mut tx, id)
            .await?
            .filter(|p| p.passkey.user_id == user.id && p.deleted.is_none())
            .ok_or_else(|| reject("notFound", "You have no such passkey."))?;
        if !store_pk::rename(&mut tx, id, &name).await? {
            return Err(reject("notFound", "You have no such passkey."));
        }
        let after = portcullis_domain::passkey::Passkey {
            display_name: name.clone(),
            ..p.passkey.clone()
        };
        let rec = security_info_record(
            "User changed security info",
            Operation::Update,
            &self_actor(user),
            user,
            Some(passkey_json(&mut tx, &p.passkey).await?),
            Some(passkey_json(&mut tx, &after).await?),
            format!("User renamed a passkey to '{name}'"),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(name)
    }
}

impl Service {
    /// An administrator's view of a user's passkeys.
    pub async fn passkeys_for_admin(
        &self,
        actor: &Actor,
        user: &str,
    ) -> Result<(User, Vec<PasskeyView>), PasskeyError> {
        let mut c = self.store().conn().await?;
        let target = crate::directory::viewable_user(&mut c, actor, user).await?;
        drop(c);
        let views = self.passkeys_of(&target).await?;
        Ok((target, views))
    }

    /// R25: an administrator removes a user's passkey from the server. The device still
    /// holds it; a sign-in with it is refused with that explanation.
    pub async fn admin_delete_passkey(
        &self,
        actor: &Actor,
        user: &str,
        id: Uuid,
    ) -> Result<(), PasskeyError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let target = managed_user(&mut tx, actor, user).await?;
        let p = passkey_of(&mut tx, &target, id).await?;
        delete_and_end(&mut tx, &p, "admin", now).await?;
        let rec = security_info_record(
            "Admin deleted security info",
            Operation::Delete,
            actor,
            &target,
            Some(passkey_json(&mut tx, &p.passkey).await?),
            None,
            "Admin deleted a passkey from the server; the user must also remove it from their device".into(),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(())
    }
}

impl Service {
    /// `userRegistrationDetails` for a page of users (graph-api.md §7.3).
    pub async fn registration_details(
        &self,
        f: &portcullis_store::directory::UserFilter,
        after_upn: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Value>, PasskeyError> {
        let now = self.now();
        let users = self.users_page(f, after_upn, limit).await?;
        let mut c = self.store().conn().await?;
        let tap_cfg = match current(&mut c, MethodId::TemporaryAccessPass).await? {
            MethodConfiguration::TemporaryAccessPass(t) => t,
            _ => portcullis_domain::policy::TapConfiguration::default(),
        };
        let mut out = vec![];
        for u in &users {
            let roles = directory::roles_of(&mut c, u.id).await?;
            let (cfg, member_of) = policy_for(&mut c, u.id).await?;
            let stored = store_pk::for_user(&mut c, u.id).await?;
            let passkeys = stored
                .iter()
                .map(|p| {
                    (
                        &p.passkey,
                        passkey::sign_in_usability(&cfg, &member_of, &p.passkey).is_ok(),
                    )
                })
                .collect();
            let tap = portcullis_store::tap::for_user(&mut c, u.id)
                .await?
                .map(|t| {
                    let in_scope = tap_cfg.state == portcullis_domain::policy::MethodState::Enabled
                        && matches!(
                            portcullis_domain::policy::targets::scope(
                                &tap_cfg.include_targets,
                                &tap_cfg.exclude_targets,
                                &member_of
                            ),
                            portcullis_domain::policy::Scope::Included(_)
                        );
                    portcullis_domain::tap::usability(&t.pass, in_scope, now)
                        == portcullis_domain::tap::UsabilityReason::EnabledByPolicy
                });
            out.push(portcullis_domain::report::registration_details(
                &portcullis_domain::report::Holdings {
                    user: u,
                    roles: &roles,
                    passkeys,
                    tap,
                },
                now,
            ));
        }
        Ok(out)
    }
}

/// `target`'s live passkey `id`, or "not found" naming them (another user's id included).
/// Deletes a passkey (`by` the user or an administrator) and ends what it opened (R25, R47),
/// in the caller's transaction.
async fn delete_and_end(
    c: &mut Conn,
    p: &StoredPasskey,
    by: &str,
    now: portcullis_domain::Timestamp,
) -> Result<(), PasskeyError> {
    store_pk::delete(c, p.passkey.id, by, now).await?;
    crate::sessions::end_what_it_opened(
        c,
        p.passkey.user_id,
        p.passkey.id,
        "its passkey was deleted",
        now,
    )
    .await?;
    Ok(())
}

pub(super) async fn passkey_of(
    c: &mut Conn,
    target: &User,
    id: Uuid,
) -> Result<StoredPasskey, PasskeyError> {
    store_pk::by_id(c, id)
        .await?
        .filter(|p| p.passkey.user_id == target.id)
        .ok_or_else(|| {
            reject(
                "notFound",
                format!("{} has no passkey {id}", target.user_principal_name),
            )
        })
}
