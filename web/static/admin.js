// Portier admin center: small enhancements over pages that work without script.
// The Content-Security-Policy forbids inline script, so everything is wired up here.
(function () {
  "use strict";

  // Search as you type: fetch the same page the search form would, and swap in its results.
  document.querySelectorAll("input[data-search-as-you-type]").forEach(function (input) {
    var form = input.form;
    var target = document.getElementById(input.getAttribute("data-search-as-you-type"));
    if (!form || !target || !window.fetch || !window.DOMParser) return;
    var timer = null, seq = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var params = new URLSearchParams(new FormData(form));
        if (!params.get("q")) params.delete("q");
        var url = form.getAttribute("action") + (params.toString() ? "?" + params.toString() : "");
        var mine = ++seq;
        fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (resp) {
            if (!resp.ok || resp.redirected) { window.location.href = url; return null; }
            return resp.text();
          })
          .then(function (html) {
            if (html === null || mine !== seq) return;
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById(target.id);
            if (!fresh) return;
            target.innerHTML = fresh.innerHTML;
            history.replaceState(null, "", url);
          })
          .catch(function () { /* the search button still works */ });
      }, 250);
    });
  });

  // Dialogs: a link that names a <dialog> opens it instead of its fallback page.
  document.querySelectorAll("a[data-dialog]").forEach(function (link) {
    var dialog = document.getElementById(link.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") return;
    link.addEventListener("click", function (ev) {
      ev.preventDefault();
      dialog.showModal();
      var first = dialog.querySelector("input, button");
      if (first) first.focus();
    });
    dialog.addEventListener("close", function () { link.focus(); });
  });
  document.querySelectorAll("[data-dialog-close]").forEach(function (button) {
    button.addEventListener("click", function () {
      var dialog = button.closest("dialog");
      if (dialog) dialog.close();
    });
  });

  // Copy buttons: shown only when script can copy.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () {
        button.textContent = button.getAttribute("data-copied");
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          field.select();
          if (document.execCommand("copy")) done();
        });
      } else {
        field.select();
        if (document.execCommand("copy")) done();
      }
    });
  });
})();
