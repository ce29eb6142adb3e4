// Portcullis pages: WebAuthn through the browser's native JSON helpers.
"use strict";

async function postJson(url, body) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = new Error((j.error && j.error.message) || r.statusText);
    e.code = j.error && j.error.code;
    throw e;
  }
  return j;
}

function show(message, ok) {
  const el = document.getElementById(ok ? "status" : "error") || document.getElementById(ok ? "error" : "status");
  if (!el) return;
  el.textContent = message;
  el.className = "notice " + (ok ? "ok" : "error");
  el.hidden = false;
  const other = document.getElementById(ok ? "error" : "status");
  if (other && other !== el) other.hidden = true;
}

// What the browser's WebAuthn errors mean, and what to do, in words.
function explain(e) {
  switch (e && e.name) {
    case "NotAllowedError":
      return "The request was cancelled or timed out before a passkey answered. Try again, and approve it on your device or security key when your browser asks.";
    case "InvalidStateError":
      return "This device or security key already holds a passkey for your account. Use that passkey, or choose another device or key.";
    case "NotSupportedError":
      return "Your browser or device cannot make this kind of passkey. Try another browser, or a passkey in Microsoft Authenticator on your phone.";
    case "SecurityError":
      return "Your browser refused the request because this page's address does not match the sign-in service's. Open Portcullis at its own address and try again.";
    case "AbortError":
      return "The request was stopped. Try again.";
    case "ConstraintError":
      return "Your device cannot verify you (no PIN, fingerprint or face set up). Set one up on the device, then try again.";
    default:
      return (e && e.message) || "Something went wrong. Try again.";
  }
}

async function addPasskey() {
  const o = await postJson("/api/passkeys/registration/options", {});
  const cred = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(o.publicKey),
  });
  const field = document.getElementById("passkey-name");
  const name = field && field.value.trim() ? field.value.trim() : undefined;
  await postJson("/api/passkeys/registration", { ceremonyId: o.ceremonyId, credential: cred.toJSON(), name });
  location.reload();
}

// R27, the Signal API, where the browser has it: the passkeys this server still accepts, so
// the credential manager drops one an administrator deleted instead of offering it forever;
// and a passkey the server refused as deleted. Never in the way of the page: a browser
// without it, or one that refuses, changes nothing here.
async function signal(call, arg) {
  if (!window.PublicKeyCredential || typeof PublicKeyCredential[call] !== "function") return;
  try {
    await PublicKeyCredential[call](arg);
  } catch (_) {
    // Nothing to tell the user: the signal is a courtesy to their credential manager.
  }
}

async function finishSignIn(o, cred) {
  // Where to go back to travels with the answer: an application's authorization request is
  // continued there, and the answer sends the browser straight back with its code.
  const back = document.getElementById("return_to");
  const returnTo = back && back.value ? back.value : undefined;
  let r;
  try {
    r = await postJson("/api/signin/passkey", { ceremonyId: o.ceremonyId, credential: cred.toJSON(), returnTo });
  } catch (e) {
    if (e.code === "passkeyDeleted") {
      await signal("signalUnknownCredential", { rpId: o.publicKey.rpId, credentialId: cred.id });
    }
    throw e;
  }
  if (r.signal) {
    await signal("signalAllAcceptedCredentials", {
      rpId: o.publicKey.rpId,
      userId: r.signal.userId,
      allAcceptedCredentialIds: r.signal.allAcceptedCredentialIds,
    });
  }
  // Back to the application with its code, or to the page that sent the user here (the
  // server vetted return_to again).
  location.href = r.redirect;
}

// Passkey autofill (conditional mediation): on the sign-in page the browser lists the
// user's passkeys among the username field's suggestions (its autocomplete says "webauthn");
// choosing one signs in without typing. Browsers allow one pending request, so any button
// that asks for a passkey cancels this one first, and a failed attempt offers it again.
let autofill = null;
let autofillRun = Promise.resolve();

function startAutofill() {
  autofillRun = runAutofill();
  return autofillRun;
}

async function runAutofill() {
  const field = document.getElementById("username");
  if (!field || !field.autocomplete.split(/\s+/).includes("webauthn")) return;
  if (document.querySelector("[data-autostart]")) return;
  if (!window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
  if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
  const controller = new AbortController();
  autofill = controller;
  try {
    const o = await postJson("/api/signin/passkey/options", { username: null });
    if (controller.signal.aborted) return;
    const pending = navigator.credentials.get({
      mediation: "conditional",
      signal: controller.signal,
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o.publicKey),
    });
    // While the browser offers passkeys in the field's suggestions, the field says so.
    field.dataset.autofill = "pending";
    field.placeholder = "name@domain, or pick a saved passkey";
    let cred;
    try {
      cred = await pending;
    } finally {
      delete field.dataset.autofill;
      field.placeholder = "name@domain";
    }
    if (autofill === controller) autofill = null;
    setBusy(true);
    show(waiting["passkey-signin"], true);
    await finishSignIn(o, cred);
  } catch (e) {
    if (autofill === controller) autofill = null;
    setBusy(false);
    // Cancelled on purpose (another button, or leaving the page): nothing to say.
    if (!controller.signal.aborted && e.name !== "AbortError") show(explain(e), false);
  }
}

// Cancels a pending autofill request and waits until the browser has let go of it: a new
// request started before then can be refused as "already pending".
async function stopAutofill() {
  if (autofill) autofill.abort();
  autofill = null;
  await autofillRun.catch(() => {});
}

async function signIn(usernameless) {
  const field = document.getElementById("username");
  const username = usernameless || !field ? null : field.value;
  const o = await postJson("/api/signin/passkey/options", { username });
  const cred = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o.publicKey),
  });
  await finishSignIn(o, cred);
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

const waiting = {
  "add-passkey": "Waiting for your passkey: follow your browser's prompt.",
  "passkey-signin": "Waiting for your passkey: follow your browser's prompt.",
  "passkey-usernameless": "Waiting for your passkey: follow your browser's prompt.",
};

// While the browser's prompt is open nothing else on the page can be started: every
// button and field is disabled, and links do nothing.
let busy = false;
document.addEventListener(
  "click",
  (e) => {
    if (busy && e.target.closest("a")) e.preventDefault();
  },
  true,
);

let disabled = [];
function setBusy(on) {
  if (on && !busy) {
    disabled = [...document.querySelectorAll("button, input, select, textarea")].filter((x) => !x.disabled);
    disabled.forEach((x) => (x.disabled = true));
    document.body.setAttribute("aria-busy", "true");
  } else if (!on && busy) {
    disabled.forEach((x) => (x.disabled = false));
    disabled = [];
    document.body.removeAttribute("aria-busy");
  }
  busy = on;
}

document.querySelectorAll("[data-action]").forEach((b) =>
  b.addEventListener("click", async () => {
    const prompts = Boolean(waiting[b.dataset.action]);
    if (prompts) await stopAutofill();
    setBusy(true);
    if (prompts) show(waiting[b.dataset.action], true);
    let failed = false;
    try {
      await actions[b.dataset.action]();
    } catch (e) {
      failed = true;
      show(explain(e), false);
    } finally {
      setBusy(false);
    }
    if (failed && prompts) startAutofill();
  }),
);

// Security info tells the credential manager which of the user's passkeys still count (R27).
const accepted = document.getElementById("signal");
if (accepted) {
  signal("signalAllAcceptedCredentials", {
    rpId: accepted.dataset.rpId,
    userId: accepted.dataset.userId,
    allAcceptedCredentialIds: accepted.dataset.accepted ? accepted.dataset.accepted.split(",") : [],
  });
}

// A Microsoft Authenticator request (issue 17): ask every two seconds whether it was answered
// (204: not yet); once it is, continue with the page's own form, which shows the outcome.
const pushForm = document.getElementById("push-form");
if (pushForm) {
  const ask = async () => {
    try {
      const r = await fetch(pushForm.action, {
        method: "POST",
        headers: { "x-portcullis-poll": "1" },
        body: new URLSearchParams(new FormData(pushForm)),
      });
      if (r.status !== 204) return pushForm.submit();
    } catch (e) {
      // The network failed: the next round asks again.
    }
    setTimeout(ask, 2000);
  };
  setTimeout(ask, 2000);
}

// Times in the viewer's own time zone (the page carries them in UTC).
document.querySelectorAll("time[data-local]").forEach((t) => {
  const d = new Date(t.dateTime);
  if (!isNaN(d)) {
    t.title = t.dateTime + " (UTC)";
    t.textContent = d.toLocaleString();
  }
});

// R23: the passkey is the preferred method; open its prompt without another click.
const auto = document.querySelector("[data-autostart]");
if (auto) auto.click();
else startAutofill();
