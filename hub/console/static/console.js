// storewatch console: the only script. "Query now" asks the hub without
// leaving the page and shows the answer in place; without this script the
// form posts and the page comes back with the answer.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("query-form");
  var out = document.getElementById("answer");
  if (!form || !out || !window.fetch) {
    return;
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var body = new URLSearchParams(new FormData(form));
    button.disabled = true;
    out.setAttribute("aria-busy", "true");
    out.innerHTML = "";
    var waiting = document.createElement("p");
    waiting.className = "answer pending";
    waiting.textContent = "Asking the store's agent\u2026";
    out.appendChild(waiting);
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRF-Token": body.get("csrf") }
    }).then(function (res) {
      return res.text();
    }).then(function (html) {
      // The hub renders the answer with html/template, which escapes it.
      out.innerHTML = html;
    }).catch(function (err) {
      waiting.textContent = "The hub could not be reached: " + err;
    }).finally(function () {
      button.disabled = false;
      out.removeAttribute("aria-busy");
    });
  });
});
