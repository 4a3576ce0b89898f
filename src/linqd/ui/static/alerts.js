// The alert, triggered-alert and job pages: the little htmx does not do. No inline scripts
// anywhere (the CSP allows /ui/static only), so every behaviour hangs on attributes here.
"use strict";
(function () {
  // The alert form shows the fields of the chosen trigger kind only. Fields of other kinds stay
  // in the form (the server reads only the chosen kind's), so switching back keeps what was typed.
  function syncKind(form) {
    var select = form.querySelector("select[name=kind]");
    if (!select) return;
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      el.hidden = el.dataset.kinds.split(" ").indexOf(select.value) < 0;
    });
  }

  // An error arriving beside an input marks the input invalid, and opens a folded section
  // holding it, so that it is seen.
  function markErrors(root) {
    var scope = root.querySelectorAll ? root : document;
    var boxes = Array.prototype.slice.call(scope.querySelectorAll(".field-error[id^=error-]"));
    if (root.matches && root.matches(".field-error[id^=error-]")) boxes.push(root);
    boxes.forEach(function (box) {
      var failed = box.textContent.trim() !== "";
      document.querySelectorAll('[aria-describedby~="' + box.id + '"]').forEach(function (input) {
        if (failed) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      });
      var folded = box.closest("details");
      if (failed && folded) folded.open = true;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches) return;
    if (target.matches("select[name=kind]")) {
      var form = target.closest("form");
      if (form) syncKind(form);
    }
    // "Select all" checks every row of its table.
    if (target.matches("input[data-select-all]")) {
      target.closest("table").querySelectorAll("tbody input[type=checkbox]").forEach(function (box) {
        box.checked = target.checked;
      });
    }
  });

  document.addEventListener("htmx:load", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-alert-form]") : null;
    if (form) syncKind(form);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) { markErrors(event.target); });
  document.addEventListener("htmx:afterSwap", function (event) { markErrors(event.target); });

  // A refused request (403 for a viewer, 404, 400) says why in the page rather than nothing.
  // Its answer is read as text: nothing in it can run or be drawn as markup.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("page-error");
    if (!box) return;
    var xhr = event.detail.xhr;
    var answer = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    box.textContent = (answer.body.textContent || "").trim() || "The server answered " + xhr.status;
    box.hidden = false;
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("page-error");
    if (box) { box.hidden = true; box.textContent = ""; }
  });
})();
