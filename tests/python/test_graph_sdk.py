"""Conformance with the real Microsoft Graph Python SDKs (msgraph-sdk and msgraph-beta-sdk):
the base URL is the only thing changed."""

import asyncio
from typing import Any

import httpx
import pytest
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator, BaseBearerTokenAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.fido2_authentication_method_configuration import Fido2AuthenticationMethodConfiguration
from msgraph.generated.models.fido2_key_restrictions import Fido2KeyRestrictions
from msgraph.generated.models.fido2_restriction_enforcement_type import Fido2RestrictionEnforcementType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.temporary_access_pass_authentication_method import TemporaryAccessPassAuthenticationMethod
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import PageIterator

ADMIN = "admin@portcullis.local"
AUTHENTICATOR = ["90a3ccdf-635c-4729-a248-9b709135078f", "de1e552d-db1d-4423-a619-566b625cdc84"]
SCOPES = ["Policy.ReadWrite.AuthenticationMethod", "User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All", "Policy.Read.All", "AuditLog.Read.All"]


class StaticToken(AccessTokenProvider):
    def __init__(self, token: str):
        self._token, self._v = token, AllowedHostsValidator([])

    async def get_authorization_token(self, uri: str, additional_authentication_context: dict[str, Any] = {}) -> str:
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._v


def v1(tenant, token: str) -> GraphServiceClient:
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token)))
    adapter.base_url = f"{tenant.origin}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def beta(tenant, token: str):
    from msgraph_beta import GraphRequestAdapter as BetaAdapter, GraphServiceClient as BetaClient
    adapter = BetaAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token)))
    adapter.base_url = f"{tenant.origin}/beta"
    return BetaClient(request_adapter=adapter)


@pytest.fixture(scope="module")
def admin_token(tenant):
    return tenant.token(ADMIN, *SCOPES)


def run(coro):
    return asyncio.run(coro)


def test_fido2_configuration_get_patch_and_read_back_in_v1_and_beta(tenant, admin_token):
    async def go():
        client = v1(tenant, admin_token)
        fido = client.policies.authentication_methods_policy.authentication_method_configurations.by_authentication_method_configuration_id("Fido2")
        cfg = await fido.get()
        assert type(cfg).__name__ == "Fido2AuthenticationMethodConfiguration"
        # The source document's PATCH: attestation enforced, only the Authenticator AAGUIDs.
        await fido.patch(Fido2AuthenticationMethodConfiguration(
            is_attestation_enforced=True,
            key_restrictions=Fido2KeyRestrictions(is_enforced=True, enforcement_type=Fido2RestrictionEnforcementType.Allow, aa_guids=AUTHENTICATOR)))
        back = await fido.get()
        assert back.id == "Fido2" and back.is_attestation_enforced is True
        assert back.key_restrictions.enforcement_type == Fido2RestrictionEnforcementType.Allow
        assert sorted(back.key_restrictions.aa_guids) == sorted(AUTHENTICATOR)
        b = beta(tenant, admin_token)
        bcfg = await b.policies.authentication_methods_policy.authentication_method_configurations.by_authentication_method_configuration_id("fido2").get()
        assert type(bcfg).__name__ == "Fido2AuthenticationMethodConfiguration" and bcfg.is_attestation_enforced is True
        # Put it back so the passkey tests below can register without attestation.
        await fido.patch(Fido2AuthenticationMethodConfiguration(is_attestation_enforced=False,
            key_restrictions=Fido2KeyRestrictions(is_enforced=False, enforcement_type=Fido2RestrictionEnforcementType.Block, aa_guids=[])))
    run(go())


def test_the_source_documents_exact_patch_request(tenant, admin_token):
    """The PATCH exactly as the how-to sends it from Graph Explorer (path without `policies/`, id `FIDO2`)."""
    import httpx
    body = {
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
        "isAttestationEnforced": True,
        "keyRestrictions": {"isEnforced": True, "enforcementType": "allow", "aaGuids": AUTHENTICATOR},
    }
    url = f"{tenant.origin}/beta/authenticationMethodsPolicy/authenticationMethodConfigurations/FIDO2"
    h = {"Authorization": f"Bearer {admin_token}"}
    r = httpx.patch(url, json=body, headers=h)
    assert r.status_code == 204, r.text
    got = httpx.get(url, headers=h).json()
    assert got["id"] == "Fido2" and got["isAttestationEnforced"] is True
    assert got["keyRestrictions"] == {"isEnforced": True, "enforcementType": "allow", "aaGuids": AUTHENTICATOR}
    r = httpx.patch(url, json={"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "isAttestationEnforced": False,
                                "keyRestrictions": {"isEnforced": False, "enforcementType": "block", "aaGuids": []}}, headers=h)
    assert r.status_code == 204


def test_temporary_access_pass_create_read_delete(tenant, admin_token):
    tenant.cli("users", "add", "--upn", "tapuser@portcullis.local")

    async def go():
        client = v1(tenant, admin_token)
        taps = client.users.by_user_id("tapuser@portcullis.local").authentication.temporary_access_pass_methods
        created = await taps.post(TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60, is_usable_once=True))
        assert created.temporary_access_pass and len(created.temporary_access_pass) >= 8
        assert created.is_usable_once is True and created.lifetime_in_minutes == 60
        listed = await taps.get()
        assert len(listed.value) == 1 and listed.value[0].temporary_access_pass is None, "the code is shown only once"
        one = await taps.by_temporary_access_pass_authentication_method_id(created.id).get()
        assert one.id == created.id and one.is_usable is True and one.method_usability_reason == "EnabledByPolicy"
        await taps.by_temporary_access_pass_authentication_method_id(created.id).delete()
        assert (await taps.get()).value == []
    run(go())


def test_users_list_pages_through_at_least_three_pages(tenant, admin_token):
    for i in range(25):
        tenant.cli("users", "add", "--upn", f"page{i:02d}@portcullis.local")

    async def go():
        client = v1(tenant, admin_token)
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=10, select=["id", "userPrincipalName", "displayName"])
        first = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))
        pages = [1]
        seen = []

        def collect(u):
            seen.append(u.user_principal_name)
            return True

        assert first.odata_next_link and first.odata_next_link.startswith(tenant.origin), "absolute nextLink"
        it = PageIterator(first, client.request_adapter)
        orig = it.next

        async def counting_next():
            page = await orig()
            if page is not None:
                pages.append(1)
            return page

        it.next = counting_next
        await it.iterate(collect)
        assert len(pages) >= 3, pages
        assert len(seen) == len(set(seen)) and len([u for u in seen if u.startswith("page")]) == 25
        filtered = await client.users.get(request_configuration=RequestConfiguration(query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(filter="startswith(userPrincipalName,'page1')")))
        assert sorted(u.user_principal_name for u in filtered.value) == [f"page1{i}@portcullis.local" for i in range(10)]
    run(go())


def test_aaguid_inventory_over_all_users_and_deleting_a_passkey(tenant, admin_token):
    for upn in ("inv1@portcullis.local", "inv2@portcullis.local"):
        tenant.cli("users", "add", "--upn", upn)
        tenant.add_passkey(upn)

    async def go():
        client = v1(tenant, admin_token)
        # The source document's inventory: every user, then each user's passkeys' AAGUID and model.
        inventory = []
        users = await client.users.get()

        async def per_user(u):
            methods = await client.users.by_user_id(u.id).authentication.fido2_methods.get()
            for m in methods.value:
                inventory.append((u.user_principal_name, m.aa_guid, m.model))

        items = []
        it = PageIterator(users, client.request_adapter)
        await it.iterate(lambda u: items.append(u) or True)
        for u in items:
            if u.user_principal_name != ADMIN:
                await per_user(u)
        assert ("inv1@portcullis.local", "01020304-0506-0708-0102-030405060708", "Chromium virtual authenticator") in inventory
        assert len([i for i in inventory if i[0].startswith("inv")]) == 2
        fido = client.users.by_user_id("inv2@portcullis.local").authentication.fido2_methods
        mine = (await fido.get()).value
        await fido.by_fido2_authentication_method_id(mine[0].id).delete()
        assert (await fido.get()).value == []
        methods = await client.users.by_user_id("inv1@portcullis.local").authentication.methods.get()
        assert any(type(m).__name__ == "Fido2AuthenticationMethod" for m in methods.value)
    run(go())


def test_fido2_provisioning_with_creation_options_and_post(tenant, admin_token):
    import datetime
    import json
    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation
    from msgraph.generated.models.fido2_authentication_method import Fido2AuthenticationMethod
    from conftest import software_registration
    tenant.cli("users", "add", "--upn", "prov@portcullis.local")

    async def go():
        client = v1(tenant, admin_token)
        user = await client.users.by_user_id("prov@portcullis.local").get()
        opts = await client.users.by_user_id(user.id).authentication.fido2_methods.creation_options.get()
        pk = opts.public_key
        assert pk.rp.id == "localhost" and pk.challenge
        assert pk.authenticator_selection.require_resident_key is True
        cred = software_registration({"rp": {"id": pk.rp.id}, "challenge": pk.challenge}, tenant.origin)
        body = {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "displayName": "Provisioned key",
                "publicKeyCredential": {"id": cred["id"], "response": cred["response"]}}
        # SDK v1 has no builder for this POST (graph-api.md §9): send a RequestInformation.
        ri = RequestInformation(Method.POST, "{+baseurl}/users/{user%2Did}/authentication/fido2Methods", {"user%2Did": user.id})
        ri.headers.try_add("Accept", "application/json")
        ri.headers.try_add("Content-Type", "application/json")
        ri.content = json.dumps(body).encode()
        created = await client.request_adapter.send_async(ri, Fido2AuthenticationMethod, {"XXX": ODataError})
        assert created.display_name == "Provisioned key" and created.aa_guid == "01020304-0506-0708-0102-030405060708"
        # Replaying the same response is refused: the challenge was single-use.
        ri2 = RequestInformation(Method.POST, "{+baseurl}/users/{user%2Did}/authentication/fido2Methods", {"user%2Did": user.id})
        ri2.headers.try_add("Content-Type", "application/json")
        ri2.content = json.dumps(body).encode()
        with pytest.raises(ODataError) as e:
            await client.request_adapter.send_async(ri2, Fido2AuthenticationMethod, {"XXX": ODataError})
        assert e.value.response_status_code == 400
        b = beta(tenant, admin_token)
        from msgraph_beta.generated.users.item.authentication.fido2_methods.creation_options_with_challenge_timeout_in_minutes.creation_options_with_challenge_timeout_in_minutes_request_builder import CreationOptionsWithChallengeTimeoutInMinutesRequestBuilder as B
        q = B.CreationOptionsWithChallengeTimeoutInMinutesRequestBuilderGetQueryParameters(challenge_timeout_in_minutes=10)
        bopts = await b.users.by_user_id(user.id).authentication.fido2_methods.creation_options_with_challenge_timeout_in_minutes.get(request_configuration=RequestConfiguration(query_parameters=q))
        left = bopts.challenge_timeout_date_time - datetime.datetime.now(datetime.timezone.utc)
        assert datetime.timedelta(minutes=9) < left <= datetime.timedelta(minutes=10), left
    run(go())


def test_user_registration_details_report_passkey_capability(tenant, admin_token):
    tenant.cli("users", "add", "--upn", "reg@portcullis.local")
    tenant.add_passkey("reg@portcullis.local")

    async def go():
        client = v1(tenant, admin_token)
        details = await client.reports.authentication_methods.user_registration_details.get()
        by_upn = {d.user_principal_name: d for d in details.value}
        reg = by_upn["reg@portcullis.local"]
        assert reg.is_passwordless_capable is True and reg.is_mfa_registered is True
        assert by_upn[ADMIN].is_admin is True
        one = await client.reports.authentication_methods.user_registration_details.by_user_registration_details_id(reg.id).get()
        assert one.user_principal_name == "reg@portcullis.local"
    run(go())


def test_built_in_authentication_strengths(tenant, admin_token):
    async def go():
        client = v1(tenant, admin_token)
        got = await client.policies.authentication_strength_policies.get()
        ids = sorted(p.id for p in got.value)
        assert ids == ["00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000003", "00000000-0000-0000-0000-000000000004"]
        phr = await client.policies.authentication_strength_policies.by_authentication_strength_policy_id("00000000-0000-0000-0000-000000000004").get()
        assert phr.display_name == "Phishing resistant MFA"
    run(go())


def test_directory_audits_show_the_changes(tenant, admin_token):
    async def go():
        client = v1(tenant, admin_token)
        got = await client.audit_logs.directory_audits.get()
        acts = {a.activity_display_name for a in got.value}
        for want in ("Authentication Methods Policy Update", "Admin registered security info", "Admin deleted security info", "Add user"):
            assert want in acts, (want, acts)
        upd = next(a for a in got.value if a.activity_display_name == "Authentication Methods Policy Update" and a.initiated_by.user)
        assert upd.initiated_by.user.user_principal_name == ADMIN
        assert upd.target_resources[0].modified_properties, "before and after are recorded"
    run(go())


def test_404_and_403_surface_as_odata_errors(tenant, admin_token):
    async def go():
        client = v1(tenant, admin_token)
        with pytest.raises(ODataError) as e:
            await client.users.by_user_id("missing@portcullis.local").authentication.fido2_methods.get()
        assert e.value.response_status_code == 404
        assert e.value.error.code == "Request_ResourceNotFound" and e.value.error.message
        assert e.value.error.inner_error.request_id
        weak = v1(tenant, tenant.token(ADMIN, "User.Read"))
        with pytest.raises(ODataError) as e:
            await weak.policies.authentication_methods_policy.authentication_method_configurations.by_authentication_method_configuration_id("Fido2").get()
        assert e.value.response_status_code == 403 and e.value.error.code == "Authorization_RequestDenied"
        assert e.value.error.inner_error.request_id
    run(go())


def test_applications_and_service_principals_crud_with_secret_attributes_and_flags(tenant):
    """Issue 5: an application registered through the SDK (redirect URIs, addPassword), its
    service principal tagged and given a custom security attribute, then deleted."""
    from msgraph.generated.applications.item.add_password.add_password_post_request_body import AddPasswordPostRequestBody
    from msgraph.generated.models.application import Application
    from msgraph.generated.models.custom_security_attribute_value import CustomSecurityAttributeValue
    from msgraph.generated.models.password_credential import PasswordCredential
    from msgraph.generated.models.service_principal import ServicePrincipal
    from msgraph.generated.models.web_application import WebApplication

    token = tenant.token(ADMIN, "Application.ReadWrite.All")

    async def go():
        client = v1(tenant, token)
        app = await client.applications.post(Application(display_name="SDK app", web=WebApplication(redirect_uris=["https://sdk.example/cb"])))
        assert app.app_id and app.id and app.web.redirect_uris == ["https://sdk.example/cb"]
        secret = await client.applications.by_application_id(app.id).add_password.post(AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="ci")))
        assert secret.secret_text and len(secret.secret_text) >= 32
        await client.applications.by_application_id(app.id).patch(Application(web=WebApplication(redirect_uris=["https://sdk.example/cb", "https://sdk.example/two"])))
        got = await client.applications.by_application_id(app.id).get()
        assert got.web.redirect_uris == ["https://sdk.example/cb", "https://sdk.example/two"]

        sp = await client.service_principals.post(ServicePrincipal(app_id=app.app_id))
        attrs = CustomSecurityAttributeValue(additional_data={"Rollout": {"@odata.type": "#microsoft.graph.customSecurityAttributeValue", "Tier": "passkey-required"}})
        await client.service_principals.by_service_principal_id(sp.id).patch(ServicePrincipal(custom_security_attributes=attrs, tags=["PortcullisApprovedClientApp"]))
        sp = await client.service_principals.by_service_principal_id(sp.id).get()
        assert sp.tags == ["PortcullisApprovedClientApp"]
        assert sp.custom_security_attributes.additional_data["Rollout"]["Tier"] == "passkey-required"
        listed = await client.service_principals.get()
        names = {s.display_name for s in listed.value}
        assert {"SDK app", "Security info", "Authenticator"} <= names, names

        # Validation errors come back as ODataError in Graph's shape.
        with pytest.raises(ODataError) as bad:
            await client.applications.post(Application(display_name="Bad", web=WebApplication(redirect_uris=["http://plain.example/cb"])))
        assert bad.value.response_status_code == 400 and "loopback" in bad.value.error.message
        first_party = next(s for s in listed.value if s.display_name == "Security info")
        with pytest.raises(ODataError) as fixed:
            await client.service_principals.by_service_principal_id(first_party.id).delete()
        assert fixed.value.response_status_code == 400

        await client.applications.by_application_id(app.id).delete()
        with pytest.raises(ODataError) as gone:
            await client.applications.by_application_id(app.id).get()
        assert gone.value.response_status_code == 404

    run(go())


def test_conditional_access_policies_locations_strengths_and_what_if(tenant):
    """Issue 6: Conditional Access CRUD through msgraph-sdk, validation errors as ODataError,
    and What If through `evaluate`."""
    from msgraph.generated.identity.conditional_access.evaluate.evaluate_post_request_body import EvaluatePostRequestBody
    from msgraph.generated.models.application_context import ApplicationContext
    from msgraph.generated.models.authentication_strength_policy import AuthenticationStrengthPolicy
    from msgraph.generated.models.authentication_method_modes import AuthenticationMethodModes
    from msgraph.generated.models.conditional_access_applications import ConditionalAccessApplications
    from msgraph.generated.models.conditional_access_condition_set import ConditionalAccessConditionSet
    from msgraph.generated.models.conditional_access_grant_controls import ConditionalAccessGrantControls
    from msgraph.generated.models.conditional_access_policy import ConditionalAccessPolicy
    from msgraph.generated.models.conditional_access_policy_state import ConditionalAccessPolicyState
    from msgraph.generated.models.conditional_access_users import ConditionalAccessUsers
    from msgraph.generated.models.conditional_access_client_app import ConditionalAccessClientApp
    from msgraph.generated.models.conditional_access_device_platform import ConditionalAccessDevicePlatform
    from msgraph.generated.models.ip_named_location import IpNamedLocation
    from msgraph.generated.models.i_pv4_cidr_range import IPv4CidrRange
    from msgraph.generated.models.sign_in_conditions import SignInConditions
    from msgraph.generated.models.user_sign_in import UserSignIn

    token = tenant.token(ADMIN, "Policy.ReadWrite.ConditionalAccess")

    async def go():
        client = v1(tenant, token)
        loc = await client.identity.conditional_access.named_locations.post(IpNamedLocation(odata_type="#microsoft.graph.ipNamedLocation", display_name="HQ", is_trusted=True, ip_ranges=[IPv4CidrRange(odata_type="#microsoft.graph.iPv4CidrRange", cidr_address="203.0.113.0/24")]))
        assert loc.id and loc.is_trusted and loc.ip_ranges[0].cidr_address == "203.0.113.0/24"

        strength = await client.policies.authentication_strength_policies.post(AuthenticationStrengthPolicy(display_name="SDK passkeys", allowed_combinations=[AuthenticationMethodModes.Fido2]))
        assert strength.policy_type.value == "custom"

        policy = ConditionalAccessPolicy(
            display_name="SDK: passkeys for everyone but the admin",
            state=ConditionalAccessPolicyState.EnabledForReportingButNotEnforced,
            conditions=ConditionalAccessConditionSet(
                users=ConditionalAccessUsers(include_users=["All"], exclude_users=[tenant.user_id(ADMIN)]),
                applications=ConditionalAccessApplications(include_applications=["All"]),
                client_app_types=[ConditionalAccessClientApp.All],
            ),
            grant_controls=ConditionalAccessGrantControls(operator="OR", authentication_strength=AuthenticationStrengthPolicy(id=strength.id)),
        )
        created = await client.identity.conditional_access.policies.post(policy)
        assert created.id and created.grant_controls.authentication_strength.display_name == "SDK passkeys", "the strength comes back expanded"
        await client.identity.conditional_access.policies.by_conditional_access_policy_id(created.id).patch(ConditionalAccessPolicy(state=ConditionalAccessPolicyState.Disabled))
        got = await client.identity.conditional_access.policies.by_conditional_access_policy_id(created.id).get()
        assert got.state == ConditionalAccessPolicyState.Disabled and got.conditions.users.exclude_users == [tenant.user_id(ADMIN)]

        # Validation errors in Graph's shape: mfa and a strength together; a missing strength.
        bad = ConditionalAccessPolicy(display_name="Bad", state=ConditionalAccessPolicyState.Enabled, conditions=policy.conditions,
                                      grant_controls=ConditionalAccessGrantControls(operator="OR", built_in_controls=[], authentication_strength=AuthenticationStrengthPolicy(id="00000000-0000-0000-0000-00000000beef")))
        with pytest.raises(ODataError) as e:
            await client.identity.conditional_access.policies.post(bad)
        assert e.value.response_status_code == 400 and "does not exist" in e.value.error.message

        # What If: the report-only… now disabled policy does not apply; an enabled one would.
        body = EvaluatePostRequestBody(
            sign_in_identity=UserSignIn(odata_type="#microsoft.graph.userSignIn", user_id=tenant.user_id(ADMIN)),
            sign_in_context=ApplicationContext(odata_type="#microsoft.graph.applicationContext", include_applications=["19db86c3-b2b9-44cc-b339-36da233a3be2"]),
            sign_in_conditions=SignInConditions(device_platform=ConditionalAccessDevicePlatform.Windows),
        )
        result = await client.identity.conditional_access.evaluate.post(body)
        mine = [r for r in result.value if r.id == created.id]
        assert mine and mine[0].policy_applies is False and "policyNotEnabled" in str(mine[0].analysis_reasons)
        # The verdict rides as an instance annotation; the SDK keeps it as additional data.
        assert result.additional_data.get("@portcullis.verdict", {}).get("result") == "allow", result.additional_data

        await client.identity.conditional_access.policies.by_conditional_access_policy_id(created.id).delete()
        await client.policies.authentication_strength_policies.by_authentication_strength_policy_id(strength.id).delete()
        await client.identity.conditional_access.named_locations.by_named_location_id(loc.id).delete()
        listed = await client.identity.conditional_access.policies.get()
        assert all(p.id != created.id for p in listed.value)

    run(go())


def test_sign_in_log_through_the_sdk(tenant):
    """The sign-in log over Graph: every attempt, newest first, filterable by status."""
    tenant.add_passkey(ADMIN)
    token = tenant.token(ADMIN, "AuditLog.Read.All")

    async def go():
        from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import SignInsRequestBuilder
        client = v1(tenant, token)
        page = await client.audit_logs.sign_ins.get()
        assert page.value, "TAP sign-ins are logged"
        first = page.value[0]
        assert first.user_principal_name == ADMIN and first.status.error_code == 0 and first.created_date_time
        # A failed passkey sign-in (an answer that is not a credential) is logged as 50126.
        with httpx.Client(base_url=tenant.origin) as c:
            o = c.post("/api/signin/passkey/options", json={"username": ADMIN}).json()
            r = c.post("/api/signin/passkey", json={"ceremonyId": o["ceremonyId"], "credential": {}})
            assert r.status_code == 400, r.text
        q = SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters(filter="status/errorCode eq 50126", top=5)
        failures = await client.audit_logs.sign_ins.get(request_configuration=RequestConfiguration(query_parameters=q))
        assert 1 <= len(failures.value) <= 5, failures.value
        assert all(s.status.error_code == 50126 for s in failures.value)

    run(go())


def test_devices_and_a_device_filter_through_the_sdks(tenant):
    """Issue 6: devices listed, tagged and deleted with the SDKs (beta for extensionAttributes,
    which the v1.0 model lacks), a policy with a device filter, and What If with deviceInfo."""
    import os
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from msgraph.generated.identity.conditional_access.evaluate.evaluate_post_request_body import EvaluatePostRequestBody
    from msgraph.generated.models.application_context import ApplicationContext
    from msgraph.generated.models.conditional_access_applications import ConditionalAccessApplications
    from msgraph.generated.models.conditional_access_client_app import ConditionalAccessClientApp
    from msgraph.generated.models.conditional_access_condition_set import ConditionalAccessConditionSet
    from msgraph.generated.models.conditional_access_devices import ConditionalAccessDevices
    from msgraph.generated.models.conditional_access_filter import ConditionalAccessFilter
    from msgraph.generated.models.conditional_access_grant_controls import ConditionalAccessGrantControls
    from msgraph.generated.models.conditional_access_grant_control import ConditionalAccessGrantControl
    from msgraph.generated.models.conditional_access_policy import ConditionalAccessPolicy
    from msgraph.generated.models.conditional_access_policy_state import ConditionalAccessPolicyState
    from msgraph.generated.models.conditional_access_users import ConditionalAccessUsers
    from msgraph.generated.models.device import Device
    from msgraph.generated.models.device_info import DeviceInfo
    from msgraph.generated.models.filter_mode import FilterMode
    from msgraph.generated.models.sign_in_conditions import SignInConditions
    from msgraph.generated.models.user_sign_in import UserSignIn
    from msgraph_beta.generated.models.device import Device as BetaDevice
    from msgraph_beta.generated.models.on_premises_extension_attributes import OnPremisesExtensionAttributes

    tenant.cli("users", "add", "--upn", "saw@portcullis.local")
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = os.path.join(tenant.data, "sdk-device.pem")
    with open(path, "wb") as f:
        f.write(pem)
    out = tenant.cli("devices", "add", "--user", "saw@portcullis.local", "--name", "SAW-SDK", "--platform", "windows", "--public-key", path)
    device_id = out.strip().rstrip(")").rsplit("(", 1)[1]
    token = tenant.token(ADMIN, "Device.ReadWrite.All", "Policy.ReadWrite.ConditionalAccess")

    async def go():
        client, beta_client = v1(tenant, token), beta(tenant, token)
        listed = await client.devices.get()
        mine = [d for d in listed.value if d.id == device_id]
        assert mine and mine[0].display_name == "SAW-SDK" and mine[0].is_compliant is False and mine[0].trust_type == "Workplace" and mine[0].operating_system == "Windows"

        await beta_client.devices.by_device_id(device_id).patch(BetaDevice(trust_type="AzureAD", is_compliant=True, extension_attributes=OnPremisesExtensionAttributes(extension_attribute1="SAW")))
        got = await beta_client.devices.by_device_id(device_id).get()
        assert got.trust_type == "AzureAD" and got.is_compliant is True and got.extension_attributes.extension_attribute1 == "SAW"
        with pytest.raises(ODataError) as e:
            await client.devices.by_device_id(device_id).patch(Device(trust_type="ServerAD"))
        assert e.value.response_status_code == 400 and "ServerAD" in e.value.error.message

        policy = ConditionalAccessPolicy(
            display_name="SDK: workstations only",
            state=ConditionalAccessPolicyState.EnabledForReportingButNotEnforced,
            conditions=ConditionalAccessConditionSet(
                users=ConditionalAccessUsers(include_users=[tenant.user_id("saw@portcullis.local")]),
                applications=ConditionalAccessApplications(include_applications=["All"]),
                client_app_types=[ConditionalAccessClientApp.All],
                devices=ConditionalAccessDevices(device_filter=ConditionalAccessFilter(mode=FilterMode.Exclude, rule='device.extensionAttribute1 -eq "SAW"')),
            ),
            grant_controls=ConditionalAccessGrantControls(operator="OR", built_in_controls=[ConditionalAccessGrantControl.Block]),
        )
        created = await client.identity.conditional_access.policies.post(policy)
        assert created.conditions.devices.device_filter.rule == 'device.extensionAttribute1 -eq "SAW"'
        bad = ConditionalAccessPolicy(display_name="Bad filter", state=ConditionalAccessPolicyState.Disabled, conditions=ConditionalAccessConditionSet(
            users=policy.conditions.users, applications=policy.conditions.applications, client_app_types=[ConditionalAccessClientApp.All],
            devices=ConditionalAccessDevices(device_filter=ConditionalAccessFilter(mode=FilterMode.Include, rule='device.colour -eq "red"'))), grant_controls=policy.grant_controls)
        with pytest.raises(ODataError) as e:
            await client.identity.conditional_access.policies.post(bad)
        assert e.value.response_status_code == 400 and "device.colour" in e.value.error.message

        async def applies(info):
            body = EvaluatePostRequestBody(
                sign_in_identity=UserSignIn(odata_type="#microsoft.graph.userSignIn", user_id=tenant.user_id("saw@portcullis.local")),
                sign_in_context=ApplicationContext(odata_type="#microsoft.graph.applicationContext", include_applications=["19db86c3-b2b9-44cc-b339-36da233a3be2"]),
                sign_in_conditions=SignInConditions(device_info=info),
            )
            result = await client.identity.conditional_access.evaluate.post(body)
            return next(r for r in result.value if r.id == created.id)

        workstation = await applies(DeviceInfo(extension_attribute1="SAW", is_compliant=True, trust_type="AzureAD"))
        assert workstation.policy_applies is False and "devices" in str(workstation.analysis_reasons)
        laptop = await applies(DeviceInfo(extension_attribute1="Laptop"))
        assert laptop.policy_applies is True

        await client.identity.conditional_access.policies.by_conditional_access_policy_id(created.id).delete()
        await client.devices.by_device_id(device_id).delete()
        with pytest.raises(ODataError) as e:
            await client.devices.by_device_id(device_id).get()
        assert e.value.response_status_code == 404

    run(go())


def totp(secret_b32: str, at: float, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 with HMAC-SHA1, from the standard library: an authenticator app that is not ours."""
    import base64, hashlib, hmac, struct
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    return str((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


def hidden(html: str, name: str) -> str:
    at = html.index(f'name="{name}" value="') + len(f'name="{name}" value="')
    return html[at:html.index('"', at)]


def test_password_and_authenticator_app_methods_and_the_software_oath_configuration(tenant, admin_token):
    """Issue 17 through the SDKs: the softwareOath method configuration, a user created with a
    passwordProfile (a weak one creates nothing), a password reset, and an authenticator app
    set up on Security info, then listed, read and deleted as softwareOathMethods."""
    import time
    from msgraph.generated.models.authentication_method_state import AuthenticationMethodState
    from msgraph.generated.models.password_profile import PasswordProfile
    from msgraph.generated.models.software_oath_authentication_method_configuration import SoftwareOathAuthenticationMethodConfiguration
    from msgraph.generated.models.user import User

    pw, reset = "violet-canoe-hums-at-dusk", "amber-kettle-sings-twice"

    async def configure():
        client = v1(tenant, admin_token)
        oath = client.policies.authentication_methods_policy.authentication_method_configurations.by_authentication_method_configuration_id("SoftwareOath")
        cfg = await oath.get()
        assert type(cfg).__name__ == "SoftwareOathAuthenticationMethodConfiguration" and cfg.state == AuthenticationMethodState.Disabled
        await oath.patch(SoftwareOathAuthenticationMethodConfiguration(state=AuthenticationMethodState.Enabled))
        assert (await oath.get()).state == AuthenticationMethodState.Enabled
        b = beta(tenant, admin_token)
        bcfg = await b.policies.authentication_methods_policy.authentication_method_configurations.by_authentication_method_configuration_id("softwareOath").get()
        assert type(bcfg).__name__ == "SoftwareOathAuthenticationMethodConfiguration"
        # A weak password: 400, and no user.
        with pytest.raises(ODataError) as e:
            await client.users.post(User(account_enabled=True, display_name="Dana Weak", mail_nickname="dana",
                                         user_principal_name="dana@portcullis.local",
                                         password_profile=PasswordProfile(password="password1", force_change_password_next_sign_in=False)))
        assert e.value.response_status_code == 400 and "complexity" in e.value.error.message
        with pytest.raises(ODataError) as e:
            await client.users.by_user_id("dana@portcullis.local").get()
        assert e.value.response_status_code == 404
        u = await client.users.post(User(account_enabled=True, display_name="Dana Lee", mail_nickname="dana",
                                         user_principal_name="dana@portcullis.local",
                                         password_profile=PasswordProfile(password=pw, force_change_password_next_sign_in=False)))
        pm = await client.users.by_user_id(u.id).authentication.password_methods.get()
        assert len(pm.value) == 1 and pm.value[0].id == "28c10230-6103-485e-b985-444c60001490" and pm.value[0].password is None
        return u.id

    uid = run(configure())
    # Dana sets up her authenticator app on Security info, as a user does.
    with httpx.Client(base_url=tenant.origin, follow_redirects=False) as c:
        r = c.post("/signin/password", data={"username": "dana@portcullis.local", "password": pw})
        assert r.status_code == 303, r.text
        assert c.get("/security-info", follow_redirects=True).status_code == 200
        page = c.get("/security-info/authenticator-app", follow_redirects=True).text
        at = page.index('id="oath-secret">') + len('id="oath-secret">')
        secret = page[at:page.index("<", at)]
        r = c.post("/security-info/authenticator-app", data={"token": hidden(page, "token"), "code": totp(secret, time.time())})
        assert r.status_code == 303, r.text

    async def read_and_delete():
        client = v1(tenant, admin_token)
        auth = client.users.by_user_id(uid).authentication
        listed = await auth.software_oath_methods.get()
        assert len(listed.value) == 1 and listed.value[0].secret_key is None, "the secret is never shown"
        one = await auth.software_oath_methods.by_software_oath_authentication_method_id(listed.value[0].id).get()
        assert one.id == listed.value[0].id
        kinds = sorted(type(m).__name__ for m in (await auth.methods.get()).value)
        assert kinds == ["PasswordAuthenticationMethod", "SoftwareOathAuthenticationMethod"], kinds
        # An administrator's password reset.
        await client.users.by_user_id(uid).patch(User(password_profile=PasswordProfile(password=reset, force_change_password_next_sign_in=False)))
        await auth.software_oath_methods.by_software_oath_authentication_method_id(one.id).delete()
        assert (await auth.software_oath_methods.get()).value == []

    run(read_and_delete())
    with httpx.Client(base_url=tenant.origin, follow_redirects=False) as c:
        assert c.post("/signin/password", data={"username": "dana@portcullis.local", "password": pw}).status_code == 401
        r = c.post("/signin/password", data={"username": "dana@portcullis.local", "password": reset})
        assert r.status_code == 303, "with the app deleted, the new password alone signs in"


def test_microsoft_authenticator_configuration_and_methods(tenant, admin_token):
    """Issue 17 through the SDKs: the microsoftAuthenticator configuration with its feature
    settings (what an approval request shows), and a phone added with the command-line app
    listed, read and deleted as microsoftAuthenticatorMethods."""
    import os, subprocess
    from msgraph.generated.models.advanced_config_state import AdvancedConfigState
    from msgraph.generated.models.authentication_method_feature_configuration import AuthenticationMethodFeatureConfiguration
    from msgraph.generated.models.authentication_method_state import AuthenticationMethodState
    from msgraph.generated.models.feature_target import FeatureTarget
    from msgraph.generated.models.feature_target_type import FeatureTargetType
    from msgraph.generated.models.microsoft_authenticator_authentication_method_configuration import MicrosoftAuthenticatorAuthenticationMethodConfiguration
    from msgraph.generated.models.microsoft_authenticator_feature_settings import MicrosoftAuthenticatorFeatureSettings
    from msgraph.generated.models.password_profile import PasswordProfile
    from msgraph.generated.models.user import User

    pw = "violet-canoe-hums-at-dusk"
    everyone = FeatureTarget(id="all_users", target_type=FeatureTargetType.Group)
    nobody = FeatureTarget(id="00000000-0000-0000-0000-000000000000", target_type=FeatureTargetType.Group)

    async def configure():
        client = v1(tenant, admin_token)
        cfg = client.policies.authentication_methods_policy.authentication_method_configurations.by_authentication_method_configuration_id("MicrosoftAuthenticator")
        assert type(await cfg.get()).__name__ == "MicrosoftAuthenticatorAuthenticationMethodConfiguration"
        await cfg.patch(MicrosoftAuthenticatorAuthenticationMethodConfiguration(
            state=AuthenticationMethodState.Enabled,
            feature_settings=MicrosoftAuthenticatorFeatureSettings(
                display_app_information_required_state=AuthenticationMethodFeatureConfiguration(state=AdvancedConfigState.Enabled, include_target=everyone, exclude_target=nobody),
                display_location_information_required_state=AuthenticationMethodFeatureConfiguration(state=AdvancedConfigState.Disabled, include_target=everyone, exclude_target=nobody))))
        back = await cfg.get()
        assert back.state == AuthenticationMethodState.Enabled
        assert back.feature_settings.display_location_information_required_state.state == AdvancedConfigState.Disabled
        assert back.feature_settings.display_app_information_required_state.state == AdvancedConfigState.Enabled
        u = await client.users.post(User(account_enabled=True, display_name="Omar Diaz", mail_nickname="omar",
                                         user_principal_name="omar@portcullis.local",
                                         password_profile=PasswordProfile(password=pw, force_change_password_next_sign_in=False)))
        return u.id

    uid = run(configure())
    # Omar adds his phone: the activation link from Security info, followed by the app.
    state = os.path.join(tenant.data, "omar-phone.json")
    bin_ = os.environ["CONFORMANCE_BIN"]
    subprocess.run([bin_, "authenticator", "--state", state, "init", "--platform", "ios", "--os-version", "17", "--name", "iPhone"], check=True)
    with httpx.Client(base_url=tenant.origin, follow_redirects=False) as c:
        assert c.post("/signin/password", data={"username": "omar@portcullis.local", "password": pw}).status_code == 303
        assert c.get("/security-info", follow_redirects=True).status_code == 200
        page = c.get("/security-info/authenticator", follow_redirects=True).text
        at = page.index('id="activation-link" href="') + len('id="activation-link" href="')
        link = page[at:page.index('"', at)].replace("&amp;", "&")
    r = subprocess.run([bin_, "authenticator", "--state", state, "--json", "add-account", "--link", link], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

    async def read_and_delete():
        client = v1(tenant, admin_token)
        auth = client.users.by_user_id(uid).authentication
        listed = await auth.microsoft_authenticator_methods.get()
        assert len(listed.value) == 1 and listed.value[0].display_name == "iPhone"
        one = await auth.microsoft_authenticator_methods.by_microsoft_authenticator_authentication_method_id(listed.value[0].id).get()
        assert one.id == listed.value[0].id
        assert "MicrosoftAuthenticatorAuthenticationMethod" in [type(m).__name__ for m in (await auth.methods.get()).value]
        await auth.microsoft_authenticator_methods.by_microsoft_authenticator_authentication_method_id(one.id).delete()
        assert (await auth.microsoft_authenticator_methods.get()).value == []

    run(read_and_delete())
