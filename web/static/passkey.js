// Portier passkeys: the browser's half of a WebAuthn ceremony. The Content-Security-Policy
// forbids inline script, so the pages mark their forms and this file wires them up:
//
//   form[data-passkey-get]       sign in with a passkey, or use one as the second factor: a
//                                button asks for a passkey; with data-conditional the
//                                browser also offers passkeys as autofill on the user-name
//                                field (conditional mediation). The answer goes into the
//                                hidden field "assertion" and the form is submitted.
//   form[data-passkey-register]  register a passkey under Security info: submitting the
//                                form asks the authenticator for a new passkey first; the
//                                answer goes into the hidden field "credential".
//
// Each form names, in data-options, where to POST (with its CSRF token) for the ceremony's
// options; the server keeps the challenge and binds it to this browser with a cookie.
(function () {
  "use strict";

  var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch);

  function b64url(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unb64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: unb64url(d.id) };
      if (d.transports) out.transports = d.transports;
      return out;
    });
  }

  // creationOptions and requestOptions turn the server's JSON into what the browser takes.
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(o);
    var out = Object.assign({}, o);
    out.challenge = unb64url(o.challenge);
    out.user = Object.assign({}, o.user, { id: unb64url(o.user.id) });
    out.excludeCredentials = descriptors(o.excludeCredentials);
    return out;
  }

  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(o);
    var out = Object.assign({}, o);
    out.challenge = unb64url(o.challenge);
    out.allowCredentials = descriptors(o.allowCredentials);
    return out;
  }

  // toJSON is the credential as the server reads it (PublicKeyCredential.toJSON where the
  // browser has it).
  function toJSON(cred) {
    if (typeof cred.toJSON === "function") {
      try { return cred.toJSON(); } catch (e) { /* fall through */ }
    }
    var r = cred.response, response = { clientDataJSON: b64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = b64url(r.authenticatorData);
      response.signature = b64url(r.signature);
      if (r.userHandle) response.userHandle = b64url(r.userHandle);
    }
    return {
      id: cred.id, rawId: b64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response: response,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  // fetchOptions begins a ceremony on the server and returns its options.
  function fetchOptions(form) {
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    if (form.elements.mfa_state) body.set("mfa_state", form.elements.mfa_state.value);
    return fetch(form.getAttribute("data-options"), {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "Accept": "application/json" }
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (json) {
        if (!resp.ok) {
          var err = new Error(json.message || "");
          err.name = "PortierError";
          throw err;
        }
        return json;
      });
    });
  }

  function showError(form, text) {
    var box = form.querySelector("[data-passkey-error]");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  // errorText says why a ceremony did not finish: the server's message, or the form's own
  // words for a cancelled or timed-out request.
  function errorText(form, err) {
    if (err && err.name === "PortierError" && err.message) return err.message;
    if (err && err.name === "InvalidStateError") return form.getAttribute("data-msg-exists") || "";
    return form.getAttribute("data-msg-cancelled") || "";
  }

  document.querySelectorAll("form[data-passkey-get]").forEach(function (form) {
    if (!supported) return;
    form.hidden = false;
    var button = form.querySelector("[data-passkey-button]");
    var current = null; // the AbortController of the request under way

    function run(conditional) {
      if (current) current.abort();
      var ctl = new AbortController();
      current = ctl;
      return fetchOptions(form).then(function (opts) {
        if (ctl.signal.aborted) return null;
        var req = { publicKey: requestOptions(opts.publicKey), signal: ctl.signal };
        if (conditional) req.mediation = "conditional";
        return navigator.credentials.get(req);
      }).then(function (cred) {
        if (!cred || ctl.signal.aborted) return;
        form.elements.assertion.value = JSON.stringify(toJSON(cred));
        form.submit();
      });
    }

    function autofill() {
      if (!form.hasAttribute("data-conditional") || !PublicKeyCredential.isConditionalMediationAvailable) return;
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) run(true).catch(function () { /* the password form still works */ });
      });
    }

    if (button) {
      button.addEventListener("click", function () {
        showError(form, "");
        button.disabled = true;
        run(false).catch(function (err) {
          if (err && err.name === "AbortError") return;
          showError(form, errorText(form, err));
          autofill();
        }).then(function () { button.disabled = false; });
      });
    }
    autofill();
    if (form.hasAttribute("data-autostart") && button) button.click();
  });

  document.querySelectorAll("form[data-passkey-register]").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    if (!supported) {
      showError(form, form.getAttribute("data-msg-unsupported") || "");
      if (button) button.disabled = true;
      return;
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var name = form.elements.name;
      if (name && !name.value.trim()) {
        name.focus();
        name.reportValidity();
        return;
      }
      showError(form, "");
      if (button) button.disabled = true;
      fetchOptions(form).then(function (opts) {
        return navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) });
      }).then(function (cred) {
        form.elements.credential.value = JSON.stringify(toJSON(cred));
        form.submit();
      }).catch(function (err) {
        showError(form, errorText(form, err));
        if (button) button.disabled = false;
      });
    });
  });
})();
