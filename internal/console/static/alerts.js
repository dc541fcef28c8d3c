// Alerts: a desktop notification and a short sound when something needs the agent, and a count in the
// tab title. The socket only says where something happened ("parley:frame" events from console.js, or
// this script's own socket on pages without a live one); what a notification says comes from
// GET /console/conversations/{id}/alert, and the count from GET /console/alerts/state, so both are right
// after a reload. Browsers allow sound and the notification permission only after a gesture: the header's
// "Enable alerts" button asks once per browser, and audio is unlocked again on the next gesture of every
// page. The agent's preferences (sound, notifications) and availability are the server's.
(function () {
  "use strict";

  var main = document.getElementById("main");
  var button = document.querySelector("[data-alerts-enable]");
  if (!main || !button) return; // signed out

  var KEY = "parley.alerts";
  var state = { available: false, sound: false, notifications: false, attention: [] };
  var fired = {}; // "conversation:message number" already alerted
  var audio = null;
  var prefix = /^\(\d+\) /;

  function enabled() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }
  function remember(on) {
    try { window.localStorage.setItem(KEY, on ? "1" : "0"); } catch (e) { /* private mode: this page only */ }
  }
  function announce(text) {
    var el = document.querySelector("[data-live-status]");
    if (el) el.textContent = text;
  }

  // ---------------------------------------------------------------- what is on screen

  function onScreen() {
    if (main.getAttribute("data-live") !== "conversation") return "";
    var tl = document.querySelector(".timeline[data-conversation]");
    return tl ? tl.getAttribute("data-conversation") : "";
  }
  function looking(id) {
    return id !== "" && id === onScreen() && document.visibilityState === "visible";
  }

  // ---------------------------------------------------------------- title count

  function count() {
    var n = 0;
    state.attention.forEach(function (id) { if (!looking(id)) n++; });
    return n;
  }
  function renderTitle() {
    var base = document.title.replace(prefix, "");
    var n = count();
    var want = n > 0 ? "(" + n + ") " + base : base;
    if (document.title !== want) document.title = want;
  }
  // console.js retitles a conversation page when its heading changes: keep the count in front.
  var titleEl = document.querySelector("title");
  if (titleEl && window.MutationObserver) {
    new MutationObserver(function () { if (!prefix.test(document.title) && count() > 0) renderTitle(); })
      .observe(titleEl, { childList: true, characterData: true, subtree: true });
  }

  function loadState() {
    return fetch("/console/alerts/state", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        state = s;
        renderButton();
        renderTitle();
      })
      .catch(function () { /* the next frame tries again */ });
  }
  // Alerts wait for the first state (availability, preferences); later reads are coalesced to one a
  // second per tab, as every workspace frame may change the count and a busy workspace sends many.
  var loaded = loadState();
  var pendingState = null;
  function refreshState() {
    if (pendingState) return;
    pendingState = setTimeout(function () {
      pendingState = null;
      loaded = loaded.then(loadState);
    }, 1000);
  }

  // ---------------------------------------------------------------- sound

  function unlockAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!audio) {
      try { audio = new Ctx(); } catch (e) { audio = null; return; }
    }
    if (audio.state === "suspended") audio.resume().catch(function () {});
  }
  function beep() {
    if (!audio || audio.state !== "running") return;
    var t = audio.currentTime;
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(660, t + 0.09);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.24);
  }
  // Audio unlocks only in a gesture: the first one on each page does it, once alerts were enabled.
  function onGesture() {
    if (!enabled()) return;
    unlockAudio();
    document.removeEventListener("pointerdown", onGesture, true);
    document.removeEventListener("keydown", onGesture, true);
  }
  document.addEventListener("pointerdown", onGesture, true);
  document.addEventListener("keydown", onGesture, true);

  // ---------------------------------------------------------------- the button

  function renderButton() {
    var on = enabled();
    button.hidden = false;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "Alerts on" : "Enable alerts";
    var why = "";
    if (on && !state.available) why = "You are away: alerts wait until you are Available.";
    else if (on && state.notifications && "Notification" in window && Notification.permission === "denied") {
      why = "This browser blocks Parley's notifications; allow them in its site settings.";
    } else if (on && canAsk()) why = "Click to allow desktop notifications in this browser.";
    button.title = why;
  }
  function canAsk() {
    return state.notifications && "Notification" in window && Notification.permission === "default";
  }
  button.addEventListener("click", function () {
    unlockAudio();
    // On, but notifications turned on since and never asked for: this click asks, rather than turning off.
    if (enabled() && !canAsk()) {
      remember(false);
      renderButton();
      announce("Alerts off in this browser.");
      return;
    }
    remember(true);
    renderButton();
    if (canAsk()) {
      Promise.resolve(Notification.requestPermission()).then(function (p) {
        renderButton();
        announce(p === "granted" ? "Alerts on: notifications and sound." : "Alerts on: sound only, notifications are not allowed.");
      });
    } else {
      announce("Alerts on.");
    }
  });

  // ---------------------------------------------------------------- notifications

  function notify(kind, id, by) {
    if (!enabled() || looking(id)) return;
    loaded.then(function () {
      if (!state.available || looking(id)) return null;
      return fetch("/console/conversations/" + encodeURIComponent(id) + "/alert", { credentials: "same-origin", headers: { Accept: "application/json" } });
    })
      .then(function (r) { return r && r.ok ? r.json() : null; })
      .then(function (a) {
        if (!a || looking(id) || !state.available) return;
        if (kind === "message") {
          if (!a.for_me || !a.unread) return;
          var key = id + ":" + a.message_number;
          if (fired[key]) return;
          fired[key] = true;
        }
        var text = a.text ? a.text + (a.truncated ? "…" : "") : "";
        var lead = "";
        if (kind === "transfer") lead = (by || "An agent") + " transferred this conversation to you";
        else if (kind === "mention") lead = (by || "An agent") + " mentioned you in a note";
        else if (!a.assigned) lead = "Waiting in your inbox";
        var body = lead && text ? lead + ": " + text : lead || text;
        show(a.name + " (" + a.level + ")", body, a.url, id);
      })
      .catch(function () {});
  }

  function show(title, body, url, id) {
    if (state.sound) beep();
    if (!state.notifications || !("Notification" in window) || Notification.permission !== "granted") return;
    var n;
    try {
      n = new Notification(title, { body: body, tag: "parley-" + id, renotify: true });
    } catch (e) {
      return; // some browsers allow notifications from a service worker only
    }
    n.onclick = function () {
      window.focus();
      if (n.close) n.close();
      if (window.location.pathname !== url) window.location.assign(url);
    };
  }

  // ---------------------------------------------------------------- frames

  function handle(frame) {
    if (!frame || typeof frame.type !== "string") return;
    switch (frame.type) {
      case "ready":
      case "agent":
      case "conversation":
      case "timeline":
        refreshState();
        return;
      case "message":
        // Only a customer's message alerts: never an agent's reply (one's own included) or a note.
        if (frame.sender === "customer" && frame.internal !== true) notify("message", frame.conversation_id);
        refreshState();
        return;
      case "transfer":
      case "mention":
        notify(frame.type, frame.conversation_id, typeof frame.by === "string" ? frame.by : "");
        refreshState();
        return;
    }
  }

  if (main.hasAttribute("data-live")) {
    document.addEventListener("parley:frame", function (ev) { handle(ev.detail); });
  } else {
    // Pages without a live socket of their own (settings, reports…) still alert.
    var attempt = 0;
    var connect = function () {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var ws;
      try { ws = new WebSocket(scheme + window.location.host + "/console/ws"); } catch (e) { return; }
      ws.addEventListener("message", function (ev) {
        var frame;
        try { frame = JSON.parse(ev.data); } catch (e) { return; }
        if (frame.type === "ready") attempt = 0;
        handle(frame);
      });
      ws.addEventListener("close", function (ev) {
        if (ev.code === 4401) return; // signed out: the next navigation goes to the sign-in page
        attempt++;
        setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, Math.min(attempt, 5))));
      });
    };
    connect();
  }

  // Reading a conversation clears it from the count: the page is what reads it.
  document.addEventListener("visibilitychange", function () { renderTitle(); refreshState(); });
  window.addEventListener("focus", refreshState);

  renderButton();
})();
