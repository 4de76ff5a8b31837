/* The alarm console: keeps the queue current (WebSocket nudges, else polling every 2 s), sounds
   and flashes new priority-1 alarms, ticks the clocks, refreshes the open alarm's live part, and
   drives the keyboard. The lines and panels are rendered by the server; this only places them.
   Without JavaScript the page still works: each line is a link, each action a plain form. */
(function () {
  "use strict";

  var POLL_MS = 2000;          // without a live connection
  var SAFETY_POLL_MS = 15000;  // with one: catches anything a lost message left out
  var LIVE_REFRESH_MS = 10000; // the open alarm's ladder and messages, which change without a new step
  var SOUND_KEY = "yiyang.alarmSound";

  var root, cursor, wsUrl, socket = null, live = false, retryMs = 1000, pollTimer = null, polling = false;
  var stopped = false, mismatches = 0, selectedId = null, pendingIds = {}, rowsTimer = null, selectTimer = null;
  var audio = null, soundOn = false, lastSound = 0, flashTimer = null, originalTitle = document.title;

  function byId(id) { return document.getElementById(id); }
  function queueList() { return byId("alarm-queue"); }
  function rows() { var list = queueList(); return list ? Array.prototype.slice.call(list.querySelectorAll("[data-alarm]")) : []; }
  function rowOf(id) { var list = queueList(); return list ? list.querySelector('[data-alarm="' + id + '"]') : null; }
  function urlFor(template, id) { return template.replace("/0/", "/" + id + "/"); }

  /* YIYANG_LIVE_URL if set (a proxy), else the live server's port on this page's host; "" to poll. */
  function socketUrl() {
    if (root.dataset.live !== "on") return "";
    if (root.dataset.wsUrl) return root.dataset.wsUrl;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.hostname + ":" + root.dataset.wsPort + "/ws/alarms/";
  }

  function setConnection(key) {
    var label = root.querySelector("[data-connection]");
    if (label) label.textContent = root.dataset[key + "Text"] || "";
  }

  /* --- fetching ---------------------------------------------------------------------------- */

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (response.redirected || response.status === 401 || response.status === 403) {
        stopped = true;  // logged out: the next reload shows the login page
        throw new Error("not signed in");
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function sortKey(el) {
    return [Number(el.dataset.priority), Number(el.dataset.received), Number(el.dataset.alarm)];
  }

  function before(a, b) {
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
    return false;
  }

  function insertSorted(el) {
    var key = sortKey(el), list = queueList(), next = null;
    rows().some(function (other) { if (before(key, sortKey(other))) { next = other; return true; } return false; });
    list.insertBefore(el, next);
  }

  /* The server's lines for these alarms: add, replace or (closed) drop each; sound the new urgent ones. */
  function applyRows(items, openCount) {
    var fresh = false, touchedSelected = false;
    items.forEach(function (item) {
      var existing = rowOf(item.id);
      if (String(item.id) === String(selectedId)) touchedSelected = true;
      if (!item.open) {
        if (existing) dropRow(existing);
        return;
      }
      var el = parse(item.html);
      if (!el) return;
      if (existing) {
        var hadFocus = document.activeElement === existing;
        existing.remove();
        insertSorted(el);
        if (hadFocus) el.focus();
      } else {
        insertSorted(el);
        el.classList.add("yy-fresh");
        if (item.priority === 1 && item.status === "new") fresh = true;
      }
      if (String(item.id) === String(selectedId)) el.setAttribute("aria-current", "true");
    });
    if (fresh) announceNew();
    if (touchedSelected) refreshLive();
    updateCount(openCount);
    tick();
  }

  function dropRow(el) {
    var focused = document.activeElement === el;
    var neighbour = el.nextElementSibling || el.previousElementSibling;
    el.remove();
    if (focused && neighbour) neighbour.focus();
  }

  function updateCount(openCount) {
    var badge = root.querySelector("[data-queue-count]"), shown = rows().length;
    if (badge && typeof openCount === "number") badge.textContent = openCount;
    var empty = root.querySelector("[data-queue-empty]");
    if (empty) empty.hidden = shown > 0;
    // The queue holds the 200 most urgent; when everything fits and the count disagrees twice, reload it.
    if (typeof openCount === "number" && openCount <= 200 && openCount !== shown) {
      mismatches += 1;
      if (mismatches >= 2) { mismatches = 0; reloadQueue(); }
    } else {
      mismatches = 0;
    }
  }

  function reloadQueue() {
    fetch(root.dataset.queueUrl, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || response.redirected) throw new Error("queue " + response.status);
      return response.text();
    }).then(function (html) {
      var section = byId("alarm-queue-section"), fresh = parse(html);
      if (!section || !fresh) return;
      section.replaceWith(fresh);
      markSelected();
      tick();
    }).catch(function () {});
  }

  function schedulePoll(ms) {
    if (pollTimer) window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(poll, ms);
  }

  function poll() {
    if (stopped) return;
    if (polling) { schedulePoll(250); return; }
    polling = true;
    getJSON(root.dataset.updatesUrl + "?since=" + encodeURIComponent(cursor)).then(function (data) {
      cursor = data.cursor;
      applyRows(data.rows, data.open_count);
      var status = byId("console-status");
      if (status && status.dataset.html !== data.status_html) {
        status.dataset.html = data.status_html;
        status.innerHTML = data.status_html;
        if (window.htmx) window.htmx.process(status);
      }
      polling = false;
      schedulePoll(data.more ? 0 : (live ? SAFETY_POLL_MS : POLL_MS));
    }).catch(function () {
      polling = false;
      schedulePoll(live ? SAFETY_POLL_MS : POLL_MS);
    });
  }

  function fetchRows() {
    rowsTimer = null;
    var ids = Object.keys(pendingIds);
    pendingIds = {};
    if (!ids.length) return;
    getJSON(root.dataset.rowsUrl + "?ids=" + ids.join(",")).then(function (data) {
      applyRows(data.rows, data.open_count);
    }).catch(function () { schedulePoll(0); });
  }

  /* --- the WebSocket: ids only, the lines come over HTTP ---------------------------------- */

  function connect() {
    if (!wsUrl || stopped || !("WebSocket" in window)) return;
    try { socket = new WebSocket(wsUrl); } catch (error) { return; }
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message.ready) {
        live = true;
        retryMs = 1000;
        setConnection("live");
        schedulePoll(0);  // whatever happened while connecting
      } else if (message.alarm) {
        pendingIds[message.alarm] = true;
        if (!rowsTimer) rowsTimer = window.setTimeout(fetchRows, 100);  // one request for a burst
      }
    };
    socket.onclose = function (event) {
      var wasLive = live;
      live = false;
      socket = null;
      setConnection(wsUrl ? "offline" : "polling");
      schedulePoll(wasLive ? 0 : POLL_MS);
      if (event.code === 4403 || event.code === 4503) { setConnection("polling"); return; }  // not for us: poll
      window.setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  /* --- sound and title for a new urgent alarm -------------------------------------------- */

  function ensureAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }

  function tone(context, frequency, start, length) {
    var oscillator = context.createOscillator(), gain = context.createGain();
    oscillator.type = "square";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    oscillator.connect(gain);
    gain.connect(context.destination);
    oscillator.start(start);
    oscillator.stop(start + length + 0.05);
  }

  function playAlarm() {
    if (!soundOn || Date.now() - lastSound < 2000) return;
    var context = ensureAudio();
    if (!context) return;
    lastSound = Date.now();
    var t = context.currentTime + 0.05;
    for (var i = 0; i < 3; i++) {
      tone(context, 880, t + i * 0.5, 0.2);
      tone(context, 660, t + i * 0.5 + 0.22, 0.2);
    }
  }

  function flashTitle() {
    var text = "【" + (root.dataset.flashText || "!") + "】 ", on = false, until = Date.now() + 8000;
    if (flashTimer) window.clearInterval(flashTimer);
    flashTimer = window.setInterval(function () {
      on = !on;
      document.title = on ? text + originalTitle : originalTitle;
      if (Date.now() > until && document.hasFocus()) stopFlash();
    }, 700);
    document.title = text + originalTitle;
  }

  function stopFlash() {
    if (flashTimer) window.clearInterval(flashTimer);
    flashTimer = null;
    document.title = originalTitle;
  }

  function announceNew() {
    root.dataset.alerts = String(Number(root.dataset.alerts || 0) + 1);
    playAlarm();
    flashTitle();
  }

  function showSound() {
    var button = root.querySelector("[data-sound-toggle]");
    if (!button) return;
    button.setAttribute("aria-pressed", soundOn ? "true" : "false");
    button.textContent = soundOn ? button.dataset.onText : button.dataset.offText;
    button.classList.toggle("btn-success", soundOn);
    button.classList.toggle("btn-outline-secondary", !soundOn);
  }

  /* --- the open alarm -------------------------------------------------------------------- */

  function markSelected() {
    rows().forEach(function (row) {
      if (row.dataset.alarm === String(selectedId)) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });
  }

  function select(id) {
    if (!id) return;
    selectedId = String(id);
    markSelected();
    var target = byId("alarm-detail");
    if (window.htmx && target) {
      window.htmx.ajax("GET", urlFor(root.dataset.detailUrl, id), { target: "#alarm-detail", swap: "outerHTML" });
    } else {
      window.location.href = root.dataset.consoleUrl + "?alarm=" + id;
      return;
    }
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", root.dataset.consoleUrl + "?alarm=" + id);
    }
  }

  var liveBusy = false;
  function refreshLive() {
    var detail = byId("alarm-detail");
    if (!detail || !detail.dataset.liveUrl || liveBusy) return;
    if (detail.dataset.alarmId !== String(selectedId)) return;
    liveBusy = true;
    fetch(detail.dataset.liveUrl, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || response.redirected) throw new Error("live " + response.status);
      return response.text();
    }).then(function (html) {
      liveBusy = false;
      var holder = document.createElement("div");
      holder.innerHTML = html;
      ["alarm-live", "alarm-history"].forEach(function (id) {
        var old = byId(id), fresh = holder.querySelector("#" + id);
        if (old && fresh && old.closest("#alarm-detail") === byId("alarm-detail")) {
          var keepFocus = old.contains(document.activeElement);
          old.replaceWith(fresh);
          if (window.htmx) window.htmx.process(fresh);
          if (keepFocus) focusQueue();
        }
      });
      setUpSpeech(byId("alarm-detail"));
      tick();
    }).catch(function () { liveBusy = false; });
  }

  function focusQueue() {
    var row = rowOf(selectedId) || rows()[0];
    if (row) row.focus();
  }

  /* --- reading the address aloud ---------------------------------------------------------- */

  function setUpSpeech(scope) {
    if (!scope || !("speechSynthesis" in window) || !window.SpeechSynthesisUtterance) return;
    scope.querySelectorAll("[data-speak]").forEach(function (button) { button.hidden = false; });
  }

  function speak(text) {
    var synth = window.speechSynthesis, utterance = new window.SpeechSynthesisUtterance(text);
    utterance.lang = "zh-CN";
    utterance.rate = 0.9;
    var voice = synth.getVoices().filter(function (v) { return /^zh(-|_)CN/i.test(v.lang); })[0];
    if (voice) utterance.voice = voice;
    synth.cancel();
    synth.speak(utterance);
  }

  /* --- clocks ----------------------------------------------------------------------------- */

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function tick() {
    var now = Date.now();
    root.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = clock((now - Date.parse(el.dataset.since)) / 1000);
    });
    root.querySelectorAll("[data-due]").forEach(function (el) {
      el.textContent = clock((Date.parse(el.dataset.due) - now) / 1000);
    });
  }

  /* --- keyboard and clicks ---------------------------------------------------------------- */

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
  }

  function openClose() {
    var section = document.querySelector('#alarm-detail details[data-action="close"]');
    if (!section) return false;
    section.open = true;
    var first = section.querySelector("[data-first]") || section.querySelector("select, textarea, input");
    if (first) first.focus();
    return true;
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var current = all.indexOf(document.activeElement);
    if (current < 0) current = all.indexOf(rowOf(selectedId));
    var next = current < 0 ? 0 : Math.min(all.length - 1, Math.max(0, current + step));
    all[next].focus();
    all[next].scrollIntoView({ block: "nearest" });
    if (selectTimer) window.clearTimeout(selectTimer);
    selectTimer = window.setTimeout(function () { select(all[next].dataset.alarm); }, 150);
  }

  function onKey(event) {
    var target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = target.closest && target.closest("#alarm-detail form");
      if (form) {
        event.preventDefault();
        // A form swapped in moments ago is wired by htmx only when the swap settles (20 ms later);
        // wire it now so a fast Ctrl+Enter still posts through htmx, not as a full page load.
        if (window.htmx) window.htmx.process(form);
        form.requestSubmit();
      }
      return;
    }
    if (event.key === "Escape") {
      var open = document.querySelector("#alarm-detail details[data-action][open]");
      if (open) { event.preventDefault(); open.open = false; }
      focusQueue();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(target)) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" && target.dataset && target.dataset.alarm) {
      event.preventDefault();
      select(target.dataset.alarm);
    } else if (event.key === "a" || event.key === "A") {
      var acknowledge = document.querySelector("#alarm-detail [data-acknowledge]");
      if (acknowledge) { event.preventDefault(); acknowledge.click(); }
    } else if (event.key === "c" || event.key === "C") {
      if (openClose()) event.preventDefault();
    }
  }

  function onClick(event) {
    var speakButton = event.target.closest("[data-speak]");
    if (speakButton) { speak(speakButton.dataset.speak); return; }
    var opener = event.target.closest("[data-open-alarm]");
    if (opener) { event.preventDefault(); select(opener.dataset.openAlarm); return; }
    var row = event.target.closest("#alarm-queue [data-alarm]");
    if (row && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      row.focus();
      select(row.dataset.alarm);
    }
  }

  function afterSwap(event) {
    var detail = byId("alarm-detail");
    if (!detail || !event.detail.target || event.detail.target.id !== "alarm-detail") return;
    if (detail.dataset.alarmId) selectedId = detail.dataset.alarmId;
    markSelected();
    setUpSpeech(detail);
    tick();
    var invalid = detail.querySelector("details[data-action][open] .invalid-feedback, details[data-action][open] .alert-danger");
    if (invalid) {
      var group = invalid.closest(".yy-field");
      var field = (group && group.querySelector("select, textarea, input")) || detail.querySelector("details[data-action][open] [data-first]");
      if (field) { field.focus(); return; }
    }
    if (!root.contains(document.activeElement) || document.activeElement === document.body) focusQueue();
  }

  function start() {
    root = document.querySelector("[data-alarm-console]");
    if (!root) return;
    cursor = root.dataset.cursor;
    wsUrl = socketUrl();
    var detail = byId("alarm-detail");
    selectedId = detail && detail.dataset.alarmId ? detail.dataset.alarmId : null;
    markSelected();
    setUpSpeech(detail);

    try { soundOn = window.localStorage.getItem(SOUND_KEY) === "1"; } catch (error) { soundOn = false; }
    showSound();
    var toggle = root.querySelector("[data-sound-toggle]");
    if (toggle) toggle.addEventListener("click", function () {
      soundOn = !soundOn;
      try { window.localStorage.setItem(SOUND_KEY, soundOn ? "1" : "0"); } catch (error) { /* private mode */ }
      if (soundOn) { ensureAudio(); lastSound = 0; playAlarm(); }  // the click lets the browser play; a sample
      showSound();
    });
    // Browsers allow sound only after a gesture: the first key or click on the page unlocks it.
    var unlock = function () { if (soundOn) ensureAudio(); };
    document.addEventListener("pointerdown", unlock, { once: true });
    document.addEventListener("keydown", unlock, { once: true });

    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    document.body.addEventListener("htmx:afterSwap", afterSwap);
    document.body.addEventListener("alarmChanged", function (event) {
      pendingIds[event.detail.id] = true;
      if (!rowsTimer) rowsTimer = window.setTimeout(fetchRows, 0);
    });
    ["focus", "pointerdown", "keydown"].forEach(function (name) {
      window.addEventListener(name, function () { if (flashTimer && document.hasFocus()) window.setTimeout(stopFlash, 3000); });
    });

    window.setInterval(tick, 1000);
    window.setInterval(refreshLive, LIVE_REFRESH_MS);
    tick();
    if (!wsUrl) setConnection("polling");
    connect();
    schedulePoll(POLL_MS);
    if (selectedId) { var row = rowOf(selectedId); if (row) row.focus(); }
    else if (rows()[0]) rows()[0].focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
