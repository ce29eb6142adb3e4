"""Fixtures for client conformance tests: a real `portcullis serve` on a fresh data
directory, tokens minted with `portcullis token`, and a small software authenticator
(test support: it produces WebAuthn data; the server verifies it with webauthn-rs-core)."""

import base64
import hashlib
import json
import os
import pathlib
import socket
import struct
import subprocess
import tempfile

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("CONFORMANCE_BIN") or str(ROOT / "target" / "debug" / "portcullis")
CHROMIUM_AAGUID = bytes.fromhex("01020304050607080102030405060708")


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cbor(v) -> bytes:
    """A minimal CBOR encoder for the few types WebAuthn test data needs."""
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | ai]) + struct.pack(fmt, n)
        raise ValueError(n)
    if isinstance(v, bool):
        return bytes([0xF5 if v else 0xF4])
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(type(v))


def software_registration(options: dict, origin: str, aaguid: bytes = CHROMIUM_AAGUID) -> dict:
    key = ec.generate_private_key(ec.SECP256R1())
    nums = key.public_key().public_numbers()
    cred_id = os.urandom(32)
    cose = cbor({1: 2, 3: -7, -1: 1, -2: nums.x.to_bytes(32, "big"), -3: nums.y.to_bytes(32, "big")})
    auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest() + bytes([0x45]) + struct.pack(">I", 0)
                 + aaguid + struct.pack(">H", len(cred_id)) + cred_id + cose)
    client_data = json.dumps({"type": "webauthn.create", "challenge": options["challenge"], "origin": origin}).encode()
    att = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
    _ = hashes  # signatures are only needed for sign-in, which these tests do not do
    return {"id": b64u(cred_id), "rawId": b64u(cred_id), "type": "public-key",
            "response": {"clientDataJSON": b64u(client_data), "attestationObject": b64u(att)}, "clientExtensionResults": {}}


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTCULLIS_")}
    env.update(extra or {})
    return env


class Tenant:
    def __init__(self, data: str, port: int, proc: subprocess.Popen, tap: str):
        self.data, self.port, self.proc, self.tap = data, port, proc, tap
        self.origin = f"http://localhost:{port}"

    def cli(self, *args: str) -> str:
        r = subprocess.run([BIN, *args, "--data-dir", self.data], capture_output=True, text=True,
                           env=clean_env({"PORTCULLIS_PUBLIC_URL": self.origin}))
        assert r.returncode == 0, r.stderr
        return r.stdout

    def user_id(self, upn: str) -> str:
        """The object id of a user, read with the CLI."""
        out = self.cli("users", "show", upn)
        return next(line.split()[-1] for line in out.splitlines() if line.strip().startswith("id"))

    def token(self, user: str, *scopes: str) -> str:
        args = ["token", "--user", user]
        for s in scopes:
            args += ["--scope", s]
        return self.cli(*args).strip()

    def add_passkey(self, upn: str) -> None:
        """Signs the user in with a fresh TAP and registers a passkey through the pages' API."""
        code = self.cli("tap", "create", "--user", upn).split("\n")[0].split()[-1]
        with httpx.Client(base_url=self.origin, follow_redirects=False) as c:
            r = c.post("/signin/tap", data={"username": upn, "code": code})
            assert r.status_code == 303, r.text
            # Registering needs Security info's own sign-in, as from its page (R40).
            assert c.get("/security-info", follow_redirects=True).status_code == 200
            o = c.post("/api/passkeys/registration/options", json={}).json()
            cred = software_registration(o["publicKey"], self.origin)
            r = c.post("/api/passkeys/registration", json={"ceremonyId": o["ceremonyId"], "credential": cred})
            assert r.status_code == 201, r.text


def start_tenant() -> Tenant:
    """`portcullis serve` on a fresh data directory and a free port, once it listens."""
    data = tempfile.mkdtemp(prefix="portcullis-conformance-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--public-url", f"http://localhost:{port}", "--data-dir", data],
                            stdout=subprocess.PIPE, text=True, env=clean_env({"PORTCULLIS_LOG": "warn"}))
    tap = None
    for line in proc.stdout:
        if "Temporary Access Pass:" in line:
            # stdout is a pipe: the pass is in the file the line names, readable only by us.
            path = line.split(" in ", 1)[1].split(" (", 1)[0]
            with open(path) as f:
                tap = f.read().strip()
        if line.startswith("Listening on"):
            break
    return Tenant(data, port, proc, tap)


@pytest.fixture(scope="session")
def tenant():
    t = start_tenant()
    yield t
    t.proc.terminate()
    t.proc.wait(timeout=30)
