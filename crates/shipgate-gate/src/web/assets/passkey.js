// shipgate review pages: the WebAuthn ceremonies (registering a passkey,
// signing in, approving or rejecting a release). Everything else on the
// pages works without this script. No inline script anywhere: the pages
// carry their parameters in data-* attributes.
"use strict";

(function () {
  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let bin = "";
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrf() {
    const meta = document.querySelector('meta[name="shipgate-csrf"]');
    return meta ? meta.getAttribute("content") : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Shipgate-CSRF": csrf() },
      body: JSON.stringify(body),
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (e) {
      answer = {};
    }
    if (!response.ok) {
      throw new Error(answer.error || "the gate answered " + response.status);
    }
    return answer;
  }

  function say(text, isError) {
    const status = document.getElementById("status");
    if (!status) return;
    status.textContent = text;
    status.className = isError ? "status error" : "status";
  }

  async function register(base) {
    const { options } = await post(base + "/options", {});
    const pk = options.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => (c.id = fromB64url(c.id)));
    const cred = await navigator.credentials.create({ publicKey: pk });
    return post(base + "/finish", {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(cred.response.attestationObject),
        clientDataJSON: toB64url(cred.response.clientDataJSON),
      },
    });
  }

  async function assert(options) {
    const pk = options.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => (c.id = fromB64url(c.id)));
    const cred = await navigator.credentials.get({ publicKey: pk });
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null,
      },
    };
  }

  // Exposed for the browser tests, which replay and redirect assertions.
  window.shipgatePasskey = { post, assert };

  function wire(id, handler) {
    const form = document.getElementById(id);
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      if (button) button.disabled = true;
      try {
        await handler(form);
      } catch (e) {
        say(e.message || String(e), true);
      } finally {
        if (button) button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".needs-script").forEach((el) => (el.hidden = false));
    document.querySelectorAll(".without-script").forEach((el) => (el.hidden = true));

    wire("enrol", async (form) => {
      say("Follow your browser's prompt to create the passkey…");
      const done = await register(form.dataset.endpoint);
      say("Passkey registered for " + done.maintainer + ". You can sign in now.");
      form.hidden = true;
    });

    wire("signin", async (form) => {
      const maintainer = form.querySelector('input[name="maintainer"]').value;
      say("Follow your browser's prompt to use your passkey…");
      const { ceremony, options } = await post("/signin/options", { maintainer });
      const credential = await assert(options);
      await post("/signin/finish", { ceremony, credential });
      window.location.assign(form.dataset.next || "/");
    });

    document.querySelectorAll("form.decision").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const base = form.dataset.endpoint;
        const decision = form.dataset.decision;
        const reasonField = form.querySelector("textarea");
        const reason = reasonField ? reasonField.value : null;
        try {
          say("Follow your browser's prompt to sign your decision…");
          const { ceremony, options } = await post(base + "/options", { decision, reason });
          const credential = await assert(options);
          const done = await post(base + "/finish", { ceremony, credential });
          say("Recorded: the release is " + done.state + " (" + done.approvals + " of " + done.quorum + " approvals).");
          window.location.reload();
        } catch (e) {
          say(e.message || String(e), true);
        }
      });
    });
  });
})();
