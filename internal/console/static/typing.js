// Parley agent console: typing indicators and "Seen". The console's socket (console.js) hands this
// script its frames as "parley:frame" events and sends its frames through "parley:send". Nothing here
// carries text: the customer's typing arrives as start/stop, and the agent's leaves the same way.
(function () {
  "use strict";

  var REFRESH = 2000; // at most one "start" per 2 s while typing
  var IDLE = 5000;    // "stop" after 5 s without a key
  var EXPIRY = 6000;  // an indicator nobody refreshes goes out by itself

  function send(frame) {
    document.dispatchEvent(new CustomEvent("parley:send", { detail: frame }));
  }

  var timeFormat = null;
  try {
    timeFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  } catch (e) { /* the ISO text stays */ }

  // ------------------------------------------------------------ the agent types

  var line = document.querySelector("[data-typing-line]");
  var conversation = line ? line.getAttribute("data-conversation") : "";

  var lastStart = 0;
  var idleTimer = null;
  function typed() {
    var now = Date.now();
    if (now - lastStart >= REFRESH) {
      lastStart = now;
      send({ type: "typing", conversation_id: conversation, state: "start" });
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stopped, IDLE);
  }
  function stopped() {
    clearTimeout(idleTimer);
    idleTimer = null;
    if (!lastStart) return;
    lastStart = 0;
    send({ type: "typing", conversation_id: conversation, state: "stop" });
  }
  if (conversation) {
    // The reply form is swapped in and out with its region, so listen on the document.
    document.addEventListener("input", function (ev) {
      // A note (notes.js marks the composer "composing-note") is for agents: the customer sees no typing.
      if (ev.target && ev.target.id === "reply-body" && !ev.target.closest(".composing-note")) {
        if (ev.target.value === "") stopped(); else typed();
      }
    });
    document.addEventListener("submit", function (ev) {
      if (ev.target && ev.target.querySelector && ev.target.querySelector("#reply-body")) stopped();
    }, true);
    window.addEventListener("pagehide", stopped);
  }

  // ------------------------------------------------------------ the customer types

  var expiries = {}; // conversation id → timer

  function customerName() {
    var h = document.getElementById("conv-title");
    return h ? h.textContent : "The customer";
  }

  function showTyping(id, on) {
    clearTimeout(expiries[id]);
    delete expiries[id];
    if (on) expiries[id] = setTimeout(function () { showTyping(id, false); }, EXPIRY);
    if (line && id === conversation) {
      var text = on ? customerName() + " is typing…" : "";
      if (line.textContent !== text) line.textContent = text;
    }
    markRow(id, on);
  }

  function markRow(id, on) {
    document.querySelectorAll('li.conv[data-conversation]').forEach(function (li) {
      if (li.getAttribute("data-conversation") !== id) return;
      var marker = li.querySelector("[data-typing-marker]");
      if (on && !marker) {
        marker = document.createElement("span");
        marker.className = "badge badge-typing";
        marker.setAttribute("data-typing-marker", "");
        marker.textContent = "typing…";
        var who = li.querySelector(".conv-who") || li;
        who.appendChild(document.createTextNode(" "));
        who.appendChild(marker);
      } else if (!on && marker) {
        marker.remove();
      }
    });
  }

  // The inbox list is swapped whole when it changes: put the markers back on its new rows.
  var list = document.querySelector('[data-region="inbox-list"]');
  if (list && window.MutationObserver) {
    new MutationObserver(function () {
      Object.keys(expiries).forEach(function (id) { markRow(id, true); });
    }).observe(list, { childList: true });
  }

  // ------------------------------------------------------------ seen

  var lastSeen = null;
  function showSeen(frame) {
    lastSeen = frame;
    var t = document.querySelector(".timeline");
    if (!t || frame.conversation_id !== conversation) return;
    var li = t.querySelector('li[data-sender="agent"][data-n="' + String(parseInt(frame.n, 10)) + '"]');
    if (!li) return;
    var old = t.querySelector("[data-seen]");
    if (old && old.parentNode === li) return;
    if (old) old.remove();
    var p = document.createElement("p");
    p.className = "msg-seen";
    p.setAttribute("data-seen", "");
    var time = document.createElement("time");
    time.setAttribute("datetime", frame.at);
    var d = new Date(frame.at);
    time.textContent = timeFormat && !isNaN(d.getTime()) ? timeFormat.format(d) : frame.at;
    p.appendChild(document.createTextNode("Seen "));
    p.appendChild(time);
    li.appendChild(p);
  }

  // A seen mark may arrive before the message it names is fetched into the timeline.
  var tl = document.querySelector(".timeline");
  if (tl && window.MutationObserver) {
    new MutationObserver(function () { if (lastSeen) showSeen(lastSeen); }).observe(tl, { childList: true });
  }

  document.addEventListener("parley:frame", function (ev) {
    var f = ev.detail || {};
    if (f.type === "typing" && typeof f.conversation_id === "string") {
      showTyping(f.conversation_id, f.state === "start");
    } else if (f.type === "seen") {
      showSeen(f);
    }
  });
})();
