/* 12349 hotline console: keyboard shortcuts, moving through the matches, focus after each
   update, and the running call timer. Everything here only helps: the console's forms and
   buttons work without it (plain posts and pages). */
(function () {
  "use strict";

  var ACTIONS = { KeyO: "order", KeyA: "emergency", KeyC: "complaint", KeyN: "note", KeyE: "end" };
  var FIELDS = "input:not([type=hidden]), select, textarea";

  function numberBox() {
    return document.querySelector("[data-hotline-number]");
  }

  function picks(container) {
    return container ? Array.prototype.slice.call(container.querySelectorAll("[data-pick]")) : [];
  }

  /* Open one quick action (closing the others) and put the cursor in its first field. */
  function openAction(name) {
    var section = document.querySelector('details[data-action="' + name + '"]');
    if (!section) return false;
    document.querySelectorAll("details[data-action][open]").forEach(function (other) {
      if (other !== section) other.open = false;
    });
    section.open = true;
    var first = section.querySelector("[data-first]") || section.querySelector(FIELDS);
    (first || section.querySelector("summary")).focus();
    return true;
  }

  /* Where the agent continues after an update: a field with an error, what the server marked,
     the first match, or the number box after a call ended. */
  function placeFocus(root, swapped) {
    if (!root) return;
    var invalid = root.querySelector("details[data-action][open] .invalid-feedback, details[data-action][open] .alert-danger");
    if (invalid) {
      var group = invalid.closest(".yy-field");
      var field = (group && group.querySelector(FIELDS)) || invalid.closest("details").querySelector("[data-first]");
      if (field) { field.focus(); return; }
    }
    var marked = root.querySelector("[data-focus]");
    if (marked) { marked.focus(); return; }
    var first = picks(root.id === "results" ? root : root.querySelector("#results"))[0];
    if (first) { first.focus(); return; }
    if (swapped && root.id === "console") {
      var box = numberBox();
      if (box) { box.value = ""; box.focus(); }
    }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      if (event.code === "KeyK") {
        var box = numberBox();
        if (box) { event.preventDefault(); box.focus(); box.select(); }
        return;
      }
      var name = ACTIONS[event.code];
      if (name && openAction(name)) event.preventDefault();
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = target.closest && target.closest("form");
      if (form && form.closest("#workspace")) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.key === "Escape") {
      var open = target.closest && target.closest("details[data-action][open]");
      if (open) { event.preventDefault(); open.open = false; open.querySelector("summary").focus(); }
      return;
    }
    if (target === numberBox() && event.key === "ArrowDown") {
      var firstPick = picks(document.getElementById("results"))[0];
      if (firstPick) { event.preventDefault(); firstPick.focus(); }
      return;
    }
    var list = target.closest && target.closest("[data-hotline-matches]");
    if (!list || event.ctrlKey || event.metaKey) return;
    var buttons = picks(list);
    var index = buttons.indexOf(target);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (event.key === "ArrowUp" && index <= 0 && list.closest("#results")) { numberBox().focus(); return; }
      var step = event.key === "ArrowDown" ? 1 : buttons.length - 1;
      buttons[(index + step) % buttons.length].focus();
      return;
    }
    if (/^[0-9]$/.test(event.key)) {
      var chosen = buttons.filter(function (button) { return button.dataset.pick === event.key; })[0];
      if (chosen) { event.preventDefault(); chosen.click(); }
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.detail.elt;
    if (root && !root.isConnected && root.id) root = document.getElementById(root.id);
    if (root && root.isConnected) placeFocus(root, true);
  });

  function tick() {
    document.querySelectorAll("[data-call-started]").forEach(function (badge) {
      var seconds = Math.max(0, Math.floor((Date.now() - Date.parse(badge.dataset.callStarted)) / 1000));
      var minutes = Math.floor(seconds / 60);
      badge.textContent = minutes + ":" + String(seconds % 60).padStart(2, "0");
    });
  }

  function start() {
    placeFocus(document.getElementById("console"), false);
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
