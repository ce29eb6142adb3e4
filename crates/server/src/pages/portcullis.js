// Portcullis pages: WebAuthn through the browser's native JSON helpers.
"use strict";

async function postJson(url, body) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText);
  return j;
}

function show(message, ok) {
  const el = document.getElementById(ok ? "status" : "error") || document.getElementById("status");
  el.textContent = message;
  el.className = "notice " + (ok ? "ok" : "error");
  el.hidden = false;
}

async function addPasskey() {
  const o = await postJson("/api/passkeys/registration/options", {});
  const cred = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(o.publicKey),
  });
  await postJson("/api/passkeys/registration", { ceremonyId: o.ceremonyId, credential: cred.toJSON() });
  location.reload();
}

async function signIn(usernameless) {
  const field = document.getElementById("username");
  const username = usernameless || !field ? null : field.value;
  const o = await postJson("/api/signin/passkey/options", { username });
  const cred = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o.publicKey),
  });
  const r = await postJson("/api/signin/passkey", { ceremonyId: o.ceremonyId, credential: cred.toJSON() });
  // Back to the application that sent the user here (the server vetted return_to).
  const back = document.getElementById("return_to");
  location.href = back ? back.value : r.redirect;
}

// R23's "Next": the page again for this username (its passkey prompt opens at once if that
// is the user's preferred method). Only the username and return_to travel in the URL.
function next() {
  const q = new URLSearchParams({ username: document.getElementById("username").value });
  const back = document.getElementById("return_to");
  if (back) q.set("return_to", back.value);
  location.href = "/signin?" + q.toString();
}

const actions = {
  next: () => next(),
  "add-passkey": () => addPasskey(),
  "passkey-signin": () => signIn(false),
  "passkey-usernameless": () => signIn(true),
};

document.querySelectorAll("[data-action]").forEach((b) =>
  b.addEventListener("click", async () => {
    try {
      await actions[b.dataset.action]();
    } catch (e) {
      show(e.message, false);
    }
  }),
);

// R23: the passkey is the preferred method; open its prompt without another click.
const auto = document.querySelector("[data-autostart]");
if (auto) auto.click();
