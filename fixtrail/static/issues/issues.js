// Keyboard shortcuts, confirmations and small toggles of the triage pages.
// Everything works without this file; it only saves clicks. Listeners sit
// on the document, so content that htmx swaps in needs no re-binding.
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.from((root || document).querySelectorAll(selector)); }

  function pageKind() {
    var holder = $("[data-page]");
    return holder ? holder.getAttribute("data-page") : "";
  }

  // --- help overlay -------------------------------------------------------
  function overlay() { return $("#shortcuts"); }
  function toggleHelp(show) {
    var box = overlay();
    if (!box) { return; }
    box.hidden = show === undefined ? !box.hidden : !show;
    if (!box.hidden) { var close = $("[data-shortcut-close]", box); if (close) { close.focus(); } }
  }

  // --- list rows ----------------------------------------------------------
  function rows() { return $$("#issue-list tr.issue-row"); }
  function focusedRow() { return $("#issue-list tr.issue-row.focused"); }
  function moveFocus(step) {
    var all = rows();
    if (!all.length) { return; }
    var current = focusedRow();
    var index = current ? all.indexOf(current) + step : (step > 0 ? 0 : all.length - 1);
    index = Math.max(0, Math.min(all.length - 1, index));
    if (current) { current.classList.remove("focused"); }
    all[index].classList.add("focused");
    all[index].scrollIntoView({ block: "nearest" });
  }
  function rowCheckbox(row) { return row ? $("input[type=checkbox][name=issue]", row) : null; }
  function bulkAction(name) {
    var form = $("#bulk");
    if (!form) { return; }
    var ticked = $$("input[name=issue]:checked").length;
    if (!ticked && !$("[data-all-matching]:checked")) {
      var box = rowCheckbox(focusedRow());
      if (!box) { return; }
      box.checked = true;
    }
    var button = $("button[name=action][value=" + name + "]", form);
    if (button) { button.click(); }
  }

  function clickIf(selector) {
    var element = $(selector);
    if (element) { element.click(); }
    return Boolean(element);
  }
  function focusIf(selector) {
    var element = $(selector);
    if (element) { element.focus(); }
    return Boolean(element);
  }
  function toggleFrames(link) {
    var event = (link && link.closest(".event")) || $("#event");
    if (event) { event.classList.toggle("all-frames"); }
  }

  var listKeys = {
    j: function () { moveFocus(1); },
    k: function () { moveFocus(-1); },
    x: function () { var box = rowCheckbox(focusedRow()); if (box) { box.checked = !box.checked; } },
    o: function () { var row = focusedRow(); if (row) { window.location.href = row.getAttribute("data-href"); } },
    Enter: function () { listKeys.o(); },
    r: function () { bulkAction("resolve"); },
    i: function () { bulkAction("ignore"); },
    e: function () { bulkAction("review"); },
    a: function () { focusIf("#bulk [data-assign-select]"); },
    n: function () { clickIf("[data-page-next]"); },
    p: function () { clickIf("[data-page-prev]"); },
    "/": function () { focusIf("[data-search-input]"); }
  };
  var issueKeys = {
    j: function () { clickIf("[data-event-older]"); },
    k: function () { clickIf("[data-event-newer]"); },
    r: function () { clickIf(".issue-actions [data-action=resolve]"); },
    i: function () { clickIf(".issue-actions [data-action=ignore]"); },
    a: function () { focusIf(".issue-actions [data-assign-select]"); },
    b: function () { clickIf(".issue-actions [data-action=bookmark]"); },
    f: function () { toggleFrames(null); },
    u: function () {
      var holder = $("[data-list-url]");
      if (holder) { window.location.href = holder.getAttribute("data-list-url"); }
    },
    "/": function () { focusIf("[data-event-search]"); }
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") {
      if (overlay() && !overlay().hidden) { toggleHelp(false); }
      else if (typing) { target.blur(); }
      return;
    }
    if (typing) { return; }
    if (event.key === "?") { toggleHelp(); event.preventDefault(); return; }
    if (overlay() && !overlay().hidden) { return; }
    var kind = pageKind();
    var keys = kind === "list" ? listKeys : (kind === "issue" ? issueKeys : null);
    if (!keys || !Object.prototype.hasOwnProperty.call(keys, event.key)) { return; }
    // Enter on a focused link or button keeps its own meaning.
    if (event.key === "Enter" && target.closest("a, button")) { return; }
    event.preventDefault();
    keys[event.key]();
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-shortcut-help]")) { toggleHelp(true); return; }
    if (target.closest("[data-shortcut-close]")) { toggleHelp(false); return; }
    if (target === overlay()) { toggleHelp(false); return; }
    var frames = target.closest("[data-toggle-frames]");
    if (frames) { event.preventDefault(); toggleFrames(frames); return; }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-page]")) {
      $$("#issue-list input[name=issue]").forEach(function (box) { box.checked = target.checked; });
    }
  });

  // Confirm destructive actions; "all matching" can touch thousands.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    var form = event.target;
    if (!message && $("[data-all-matching]:checked", form)) {
      message = "Apply this to every issue matching the search, not just the selected ones?";
    }
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
