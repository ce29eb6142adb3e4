"""Conformance of the OpenID Connect provider with the real authlib client (and joserfc).

A relying party built on authlib's OAuth2Client discovers the provider, sends the user to
the authorization endpoint with PKCE (S256) and a nonce, and a scripted browser signs the
user in with a passkey and follows the redirects by hand. The RP then redeems the code, and
the test proves that the ID token verifies against the published JWKS with the expected
issuer, audience, nonce, lifetime, at_hash and passkey claims (amr, authentication strength),
that userinfo answers for the same subject, that refresh tokens rotate and a replayed one
revokes its whole family, that a code is single-use, and that a public client must present
its code_verifier."""

import hashlib
import json
import os
import struct
import time
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import KeySet

from conftest import CHROMIUM_AAGUID, b64u, cbor

UPN = "oidc.rp@portcullis.local"
REDIRECT = "http://127.0.0.1:8765/callback"
PHISHING_RESISTANT = "00000000-0000-0000-0000-000000000004"


class Passkey:
    """A software authenticator that, unlike conftest's, keeps its key so it can also sign in."""

    def __init__(self, origin: str):
        self.origin, self.key, self.cred_id, self.counter = origin, ec.generate_private_key(ec.SECP256R1()), os.urandom(32), 0

    def register(self, options: dict) -> dict:
        nums = self.key.public_key().public_numbers()
        self.user_handle = options["user"]["id"]
        cose = cbor({1: 2, 3: -7, -1: 1, -2: nums.x.to_bytes(32, "big"), -3: nums.y.to_bytes(32, "big")})
        auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest() + bytes([0x45]) + struct.pack(">I", 0)
                     + CHROMIUM_AAGUID + struct.pack(">H", len(self.cred_id)) + self.cred_id + cose)
        client_data = json.dumps({"type": "webauthn.create", "challenge": options["challenge"], "origin": self.origin, "crossOrigin": False})
        att = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64u(self.cred_id), "rawId": b64u(self.cred_id), "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": b64u(client_data.encode()), "attestationObject": b64u(att)}}

    def assertion(self, options: dict) -> dict:
        self.counter += 1
        auth_data = hashlib.sha256(options["rpId"].encode()).digest() + bytes([0x05]) + struct.pack(">I", self.counter)
        client_data = json.dumps({"type": "webauthn.get", "challenge": options["challenge"], "origin": self.origin, "crossOrigin": False}).encode()
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64u(self.cred_id), "rawId": b64u(self.cred_id), "type": "public-key", "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
                "response": {"clientDataJSON": b64u(client_data), "authenticatorData": b64u(auth_data),
                             "signature": b64u(signature), "userHandle": self.user_handle}}


def browser(tenant) -> httpx.Client:
    """A user agent: keeps cookies, sends its Origin on POSTs, and does not follow redirects by itself."""
    return httpx.Client(base_url=tenant.origin, follow_redirects=False, headers={"Origin": tenant.origin})


@pytest.fixture(scope="module")
def passkey(tenant) -> Passkey:
    """A new user who registers a passkey after signing in with a Temporary Access Pass."""
    tenant.cli("users", "add", "--upn", UPN, "--display-name", "OIDC Relying Party User")
    code = tenant.cli("tap", "create", "--user", UPN).split("\n")[0].split()[-1]
    key = Passkey(tenant.origin)
    with browser(tenant) as b:
        assert b.post("/signin/tap", data={"username": UPN, "code": code}).status_code == 303
        # Registering needs Security info's own sign-in, as from its page (R40).
        assert b.get("/security-info", follow_redirects=True).status_code == 200
        o = b.post("/api/passkeys/registration/options", json={}).json()
        r = b.post("/api/passkeys/registration", json={"ceremonyId": o["ceremonyId"], "credential": key.register(o["publicKey"])})
        assert r.status_code == 201, r.text
    return key


def register_app(tenant, name: str, public: bool = False) -> tuple[str, str | None]:
    out = tenant.cli("apps", "add", "--name", name, "--redirect-uri", REDIRECT, *(["--public"] if public else []))
    client_id = out.split("client id")[1].split()[0]
    secret = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Client secret:")), None)
    assert (secret is None) == public, out
    return client_id, secret


def discover(tenant, rp: OAuth2Client) -> dict:
    meta = rp.request("GET", f"{tenant.origin}/.well-known/openid-configuration", withhold_token=True).raise_for_status().json()
    assert meta["issuer"] == tenant.origin
    assert urlparse(meta["authorization_endpoint"]).path == "/oauth2/v2.0/authorize"
    assert urlparse(meta["token_endpoint"]).path == "/oauth2/v2.0/token"
    assert "RS256" in meta["id_token_signing_alg_values_supported"]
    return meta


def authorize(b: httpx.Client, url: str, key: Passkey | None) -> str:
    """Follows an authorization URL like a browser, signing in with the passkey if asked; returns the RP callback URL."""
    r = b.get(url)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    if urlparse(location).path == "/signin":
        assert key is not None, f"sent to sign in although a session exists: {location}"
        return_to = parse_qs(urlparse(location).query)["return_to"][0]
        # The sign-in page must send the browser back to the very same authorization request.
        assert urlparse(return_to).path == urlparse(url).path and parse_qs(urlparse(return_to).query) == parse_qs(urlparse(url).query)
        assert b.get(location).status_code == 200
        o = b.post("/api/signin/passkey/options", json={"username": UPN}).json()
        r = b.post("/api/signin/passkey", json={"ceremonyId": o["ceremonyId"], "credential": key.assertion(o["publicKey"])})
        assert r.status_code == 200 and r.json()["userPrincipalName"] == UPN, r.text
        assert "portcullis_session" in b.cookies
        r = b.get(urljoin(str(b.base_url), return_to))
        assert r.status_code == 303, r.text
        location = r.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    return location


def check_callback(callback: str, state: str, issuer: str) -> str:
    q = parse_qs(urlparse(callback).query)
    assert "error" not in q, q
    assert q["state"] == [state] and q["iss"] == [issuer] and len(q["code"]) == 1
    return q["code"][0]


def validate_id_token(meta: dict, token: dict, client_id: str, nonce: str) -> dict:
    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).raise_for_status().json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])  # raises unless the JWKS key verifies it
    assert decoded.header["alg"] == "RS256"
    c = decoded.claims
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": meta["issuer"]}, aud={"essential": True, "value": client_id},
                          sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                          nonce={"essential": True, "value": nonce}).validate(c)
    now = time.time()
    assert c["iat"] - 60 <= now < c["exp"] <= now + 24 * 3600 and c["auth_time"] <= c["iat"] + 1
    assert c.get("azp", client_id) == client_id
    at_hash = b64u(hashlib.sha256(token["access_token"].encode()).digest()[:16])
    assert c["at_hash"] == at_hash
    assert "fido" in c["amr"], c["amr"]
    assert PHISHING_RESISTANT in c["authentication_strengths"], c["authentication_strengths"]
    # authlib's own OIDC core rules agree (issuer, nonce, azp, at_hash against the header's alg).
    CodeIDToken(c, decoded.header, {"iss": {"essential": True, "value": meta["issuer"]}},
                {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]}).validate(leeway=60)
    return c


def token_error(meta: dict, data: dict) -> str:
    """A raw token request that must be refused; returns its OAuth error code."""
    r = httpx.post(meta["token_endpoint"], data=data)
    assert r.status_code == 400, (r.status_code, r.text)
    return r.json()["error"]


def test_confidential_client_code_flow_id_token_userinfo_and_refresh_rotation(tenant, passkey):
    client_id, secret = register_app(tenant, "Authlib RP")
    with OAuth2Client(client_id, secret, scope="openid profile email offline_access", redirect_uri=REDIRECT,
                      code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic") as rp:
        meta = discover(tenant, rp)
        verifier, nonce = generate_token(64), generate_token(24)
        url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        assert "code_challenge_method=S256" in url and "nonce=" in url
        with browser(tenant) as b:
            callback = authorize(b, url, passkey)
        check_callback(callback, state, meta["issuer"])
        token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state)
        assert token["token_type"].lower() == "bearer" and token["refresh_token"]
        claims = validate_id_token(meta, token, client_id, nonce)

        info = rp.get(meta["userinfo_endpoint"]).raise_for_status().json()
        assert info["sub"] == claims["sub"] and info["preferred_username"] == UPN
        assert info["name"] == "OIDC Relying Party User"

        old = token["refresh_token"]
        new = rp.refresh_token(meta["token_endpoint"], refresh_token=old)
        assert new["access_token"] != token["access_token"]
        assert new["refresh_token"] and new["refresh_token"] != old
        assert rp.get(meta["userinfo_endpoint"]).raise_for_status().json()["sub"] == claims["sub"]

        # Replaying the rotated-out token is refused, and it takes the new one down with it.
        creds = {"client_id": client_id, "client_secret": secret}
        assert token_error(meta, {"grant_type": "refresh_token", "refresh_token": old, **creds}) == "invalid_grant"
        assert token_error(meta, {"grant_type": "refresh_token", "refresh_token": new["refresh_token"], **creds}) == "invalid_grant"
        # An authorization code is single-use.
        code = parse_qs(urlparse(callback).query)["code"][0]
        replay = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier, **creds}
        assert token_error(meta, replay) == "invalid_grant"


def test_public_client_needs_its_code_verifier(tenant, passkey):
    client_id, _ = register_app(tenant, "Authlib public RP", public=True)
    with OAuth2Client(client_id, scope="openid profile", redirect_uri=REDIRECT,
                      code_challenge_method="S256", token_endpoint_auth_method="none") as rp:
        meta = discover(tenant, rp)
        with browser(tenant) as b:
            verifier, nonce = generate_token(64), generate_token(24)
            url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
            callback = authorize(b, url, passkey)
            check_callback(callback, state, meta["issuer"])
            token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state)
            assert "refresh_token" not in token  # no offline_access, no refresh token
            claims = validate_id_token(meta, token, client_id, nonce)
            assert rp.get(meta["userinfo_endpoint"]).raise_for_status().json()["sub"] == claims["sub"]

            # The session now exists, so a second request comes straight back with a fresh code.
            url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=generate_token(64), nonce=generate_token(24))
            code = check_callback(authorize(b, url, None), state, meta["issuer"])
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id}
        assert token_error(meta, body) == "invalid_grant"
