/* Autosave of a form page's entries to the server (issue 17: "nothing typed is lost").
   While the user types, the form's entries are posted every few seconds to the page's
   autosave URL (CSRF token included), where they are kept in a server-side draft; reopening
   the page shows them again. Nothing is ever written to localStorage or sessionStorage:
   bedside computers are shared. When a post fails (connection lost), a notice says so and the
   post is retried until it succeeds. */
(function () {
  "use strict";
  var form = document.getElementById("form-entry");
  if (!form || !form.dataset.autosaveUrl) { return; }
  var url = form.dataset.autosaveUrl;
  var offline = document.getElementById("autosave-offline");
  var status = document.getElementById("autosave-status");
  var dirty = false;
  var sending = false;
  var submitted = false;
  var INTERVAL_MS = 3000;

  function markDirty() { dirty = true; }
  form.addEventListener("input", markDirty);
  form.addEventListener("change", markDirty);
  form.addEventListener("submit", function () { submitted = true; });

  function failed() {
    if (offline) { offline.hidden = false; }
  }

  function send() {
    if (!dirty || sending || submitted) { return; }
    sending = true;
    dirty = false;
    var body = new FormData(form);
    body.delete("drafted_by");
    fetch(url, {
      method: "POST", body: body, credentials: "same-origin", redirect: "error",
      headers: { "X-Requested-With": "XMLHttpRequest", "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (answer) {
      if (!answer || answer.kept !== true) { throw new Error("not kept"); }
      if (offline) { offline.hidden = true; }
      if (status) {
        var at = new Date(answer.saved_at);
        status.textContent = (status.dataset.kept || "") + " " + at.toLocaleTimeString();
      }
    }).catch(function () {
      dirty = true;  /* not kept: send again on the next tick */
      failed();
    }).finally(function () { sending = false; });
  }

  window.setInterval(send, INTERVAL_MS);
  window.addEventListener("online", send);
  window.addEventListener("offline", failed);
})();
