"""R52: the source documents find the AAGUIDs in use with a script that lists every user and
then asks for each user's passkeys, one call per user (002, "Find AAGUIDs"). Here that script,
written against the Microsoft Graph beta Python SDK exactly as its PowerShell does, runs
against a tenant of more than 1,000 users, and its (user, AAGUID, model) set is the one
`portcullis inventory passkeys` gives in one command."""

import asyncio
import json
import os
import tempfile
import uuid

import httpx
import pytest
from kiota_abstractions.authentication import BaseBearerTokenAuthenticationProvider
from msgraph_beta import GraphRequestAdapter, GraphServiceClient
from msgraph_core import PageIterator

from conftest import software_registration, start_tenant
from test_graph_sdk import StaticToken

USERS = 1000
# Three named models and one the metadata store does not know (its model is null both ways).
MODELS = [
    "01020304-0506-0708-0102-030405060708",  # Chromium virtual authenticator
    "cb69481e-8ff7-4039-93ec-0a2729a154a8",  # YubiKey 5 Series
    "08987058-cadc-4b81-b6e1-30de50dcbe96",  # Windows Hello
    "4c0a5d53-0a2f-4a7e-9b0a-6f2f6c1d0e11",  # not in the metadata store
]


@pytest.fixture(scope="module")
def big_tenant():
    t = start_tenant()
    yield t
    t.proc.terminate()
    t.proc.wait(timeout=30)


def provision(t, token: str, ids: list[str]) -> int:
    """Passkeys registered through Graph's provisioning API (creationOptions, then POST):
    user i holds i % 3 passkeys, of models chosen by i; returns how many."""
    async def go() -> int:
        gate = asyncio.Semaphore(8)
        n = 0
        async with httpx.AsyncClient(base_url=f"{t.origin}/beta", headers={"authorization": f"Bearer {token}"}, timeout=60) as c:
            async def one(i: int, uid: str) -> int:
                made = 0
                for k in range(i % 3):
                    model = uuid.UUID(MODELS[(i + k) % len(MODELS)]).bytes
                    async with gate:
                        r = await c.get(f"/users/{uid}/authentication/fido2Methods/creationOptions()")
                        assert r.status_code == 200, r.text
                        o = r.json()
                        cred = software_registration(o["publicKey"], t.origin, model)
                        body = {"displayName": f"Key {k}", "publicKeyCredential": {"id": cred["id"], "response": cred["response"]}}
                        r = await c.post(f"/users/{uid}/authentication/fido2Methods", json=body)
                    assert r.status_code == 201, r.text
                    made += 1
                return made
            for made in await asyncio.gather(*(one(i, uid) for i, uid in enumerate(ids))):
                n += made
        return n
    return asyncio.run(go())


async def documents_script(t, token: str) -> set[tuple[str, str, str | None]]:
    """002's script in the beta SDK: every user (all pages), then each user's fido2Methods."""
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token)))
    adapter.base_url = f"{t.origin}/beta"
    client = GraphServiceClient(request_adapter=adapter)
    users = []
    page = await client.users.get()
    it = PageIterator(page, adapter)
    await it.iterate(lambda u: users.append(u) or True)
    found = set()
    for u in users:
        methods = await client.users.by_user_id(u.id).authentication.fido2_methods.get()
        for m in methods.value:
            found.add((u.id, m.aa_guid, m.model))
    return found


def test_r52_the_documents_script_and_the_inventory_find_the_same_passkeys(big_tenant):
    t = big_tenant
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for i in range(USERS):
            f.write(json.dumps({"userPrincipalName": f"user{i:04}@portcullis.local"}) + "\n")
    assert f"Added {USERS} users" in t.cli("users", "import", f.name)
    os.unlink(f.name)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"state": "enabled", "isAttestationEnforced": False}, f)
    t.cli("policy", "patch", "fido2", f.name)
    os.unlink(f.name)
    users = json.loads(t.cli("users", "list", "--json"))
    assert len(users) == USERS + 1
    # Administrators do not provision their own methods: everyone but the administrator.
    ids = [u["id"] for u in users if "admin@" not in json.dumps(u)]
    writer = t.token("admin@portcullis.local", "UserAuthenticationMethod.ReadWrite.All")
    made = provision(t, writer, sorted(ids))
    assert made > USERS // 2

    reader = t.token("admin@portcullis.local", "User.Read.All", "UserAuthenticationMethod.Read.All")
    script = asyncio.run(documents_script(t, reader))
    inventory = {(r["userId"], r["aaGuid"], r["model"]) for r in map(json.loads, t.cli("inventory", "passkeys").splitlines())}
    assert len(script) > USERS // 2
    assert script == inventory
    # Every model is there, and the unknown one has no name on either side.
    assert {a for _, a, _ in inventory} == set(MODELS)
    assert {m for _, a, m in inventory if a == MODELS[3]} == {None}
    assert {m for _, a, m in inventory if a == MODELS[1]} == {"YubiKey 5 Series"}
    # One passkey per line, as many as were made.
    assert len(t.cli("inventory", "passkeys").splitlines()) == made

    # Graph's summary of who registered what, through the v1 SDK, both ways it calls it.
    from test_graph_sdk import v1
    reports = t.token("admin@portcullis.local", "AuditLog.Read.All")

    async def summaries():
        methods = v1(t, reports).reports.authentication_methods
        every = await methods.users_registered_by_method.get()
        users = await methods.users_registered_by_method_with_included_user_types_with_included_user_roles(
            included_user_roles="user", included_user_types="all").get()
        return every, users

    every, users_only = asyncio.run(summaries())
    holders = len({u for u, _, _ in inventory})
    counts = {c.authentication_method: c.user_count for c in every.user_registration_method_counts}
    assert every.total_user_count == USERS + 1
    # Software passkeys without the backup flag, of no Authenticator model: device-bound.
    assert counts.get("passKeyDeviceBound") == holders, counts
    # Without the administrator, who holds a directory role.
    assert users_only.total_user_count == USERS
