// Parley agent console: small enhancements over server-rendered pages. Everything works without this
// script; with it, the inbox and the open conversation stay live, Enter sends a reply, and times show in
// the reader's time zone. HTML always comes from the server (html/template), never built from data here.
(function () {
  "use strict";

  var main = document.getElementById("main");
  var csrfMeta = document.querySelector('meta[name="parley-csrf"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // ---------------------------------------------------------------- times

  var timeFormat = null;
  try {
    timeFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  } catch (e) { /* keep the server's UTC text */ }

  function localizeTimes(root) {
    if (!timeFormat) return;
    // data-utc marks times that stay in UTC (the audit trail, compared with logs).
    root.querySelectorAll("time[datetime]:not([data-utc])").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      el.textContent = timeFormat.format(d);
    });
  }

  // ---------------------------------------------------------------- reply form

  function enhanceForms(root) {
    root.querySelectorAll("form[data-enter-submits]").forEach(function (form) {
      if (form.dataset.enhanced) return;
      form.dataset.enhanced = "1";
      var area = form.querySelector("textarea");
      var sending = false;
      if (area) {
        area.addEventListener("keydown", function (ev) {
          if (ev.key !== "Enter" || ev.shiftKey || ev.altKey || ev.ctrlKey || ev.metaKey || ev.isComposing) return;
          ev.preventDefault();
          if (area.value.trim() === "") return;
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        });
      }
      form.addEventListener("submit", function (ev) {
        // The form's nonce already makes a second post harmless; this spares the round trip.
        if (sending) { ev.preventDefault(); return; }
        sending = true;
      });
    });
  }

  // ---------------------------------------------------------------- fragments

  function toLogin() {
    window.location.assign("/console/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  function fetchFragment(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store" }).then(function (res) {
      if (res.status === 401) { toLogin(); throw new Error("signed out"); }
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.text();
    }).then(function (html) {
      // DOMParser builds an inert document: nothing in it runs. The HTML is the server's own template
      // output, in which every customer string is already escaped.
      return new DOMParser().parseFromString(html, "text/html");
    });
  }

  function announce(text) {
    var el = document.querySelector("[data-live-status]");
    if (el) el.textContent = text;
  }

  function swapRegion(target, source) {
    target.replaceChildren.apply(target, Array.prototype.slice.call(source.childNodes));
    localizeTimes(target);
    enhanceForms(target);
  }

  // busy reports whether a region holds something the agent is working on: focus in one of its form
  // controls, or a reply being typed.
  function busy(region) {
    var active = document.activeElement;
    if (active && active !== document.body && region.contains(active) && active.closest("form")) return true;
    var area = region.querySelector("textarea");
    return !!(area && area.value.trim() !== "");
  }

  // ---------------------------------------------------------------- inbox

  function refreshInbox() {
    var url = main.getAttribute("data-fragment");
    return fetchFragment(url).then(function (doc) {
      var target = document.querySelector('[data-region="inbox-list"]');
      if (target) {
        swapRegion(target, doc.body);
        announce("Inbox updated");
      }
    });
  }

  // ---------------------------------------------------------------- conversation

  function timeline() { return document.querySelector(".timeline"); }

  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 40; }

  function scrollToEnd() {
    var t = timeline();
    if (t) t.scrollTop = t.scrollHeight;
  }

  function lastSeq() {
    var t = timeline();
    return t ? parseInt(t.getAttribute("data-last-seq") || "0", 10) : 0;
  }

  var readSeq = 0;

  // markRead tells the server the agent has seen the newest message, when the page really shows it.
  function markRead() {
    var t = timeline();
    var seq = lastSeq();
    if (!t || seq <= readSeq || document.visibilityState !== "visible" || !atBottom(t)) return;
    readSeq = seq;
    var id = t.getAttribute("data-conversation");
    var body = new URLSearchParams();
    body.set("csrf", csrf);
    body.set("seq", String(seq));
    fetch("/console/conversations/" + encodeURIComponent(id) + "/read", { method: "POST", credentials: "same-origin", body: body })
      .catch(function () { readSeq = 0; });
  }

  function refreshConversation() {
    var url = main.getAttribute("data-fragment");
    var t = timeline();
    var stick = !t || atBottom(t);
    var before = lastSeq();
    return fetchFragment(url).then(function (doc) {
      doc.querySelectorAll("[data-region]").forEach(function (source) {
        var name = source.getAttribute("data-region");
        var target = document.querySelector('main [data-region="' + name + '"]');
        if (!target) return;
        if ((name === "reply" || name === "actions") && busy(target)) return;
        swapRegion(target, source);
      });
      var heading = document.getElementById("conv-title");
      if (heading) document.title = "Conversation with " + heading.textContent + " · Parley";
      if (stick) scrollToEnd();
      if (lastSeq() > before) announce("New message");
      markRead();
    });
  }

  // ---------------------------------------------------------------- live socket

  function live(kind) {
    var tl = timeline();
    var conversation = kind === "conversation" && tl ? tl.getAttribute("data-conversation") : "";
    var refresh = kind === "inbox" ? refreshInbox : refreshConversation;
    var pending = null;
    var running = false;
    var again = false;

    // Refreshes are coalesced: a burst of events costs one fetch, and never two at once.
    function schedule() {
      if (pending) return;
      pending = setTimeout(function () {
        pending = null;
        if (running) { again = true; return; }
        running = true;
        refresh().catch(function () { /* the next event or reconnect tries again */ }).then(function () {
          running = false;
          if (again) { again = false; schedule(); }
        });
      }, 150);
    }

    var attempt = 0;
    var first = true;
    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var ws;
      try {
        ws = new WebSocket(scheme + window.location.host + "/console/ws");
      } catch (e) {
        retry();
        return;
      }
      ws.addEventListener("message", function (ev) {
        var frame;
        try { frame = JSON.parse(ev.data); } catch (e) { return; }
        if (frame.type === "ready") {
          attempt = 0;
          // After a reconnect, catch up on whatever happened while the socket was down.
          if (!first) schedule();
          first = false;
          return;
        }
        if (kind === "inbox" && (frame.type === "message" || frame.type === "conversation" || frame.type === "timeline")) {
          schedule();
        } else if (kind === "conversation" && frame.conversation_id === conversation) {
          schedule();
        }
      });
      ws.addEventListener("close", function (ev) {
        if (ev.code === 4401) { toLogin(); return; }
        retry();
      });
    }
    function retry() {
      attempt++;
      var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(attempt - 1, 5)));
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    }
    connect();
  }

  // ---------------------------------------------------------------- start

  localizeTimes(document);
  enhanceForms(document);
  if (main) {
    var kind = main.getAttribute("data-live");
    if (kind === "conversation") {
      scrollToEnd();
      readSeq = lastSeq(); // the server marked it read when it rendered the page
      var t = timeline();
      if (t) t.addEventListener("scroll", markRead, { passive: true });
      document.addEventListener("visibilitychange", markRead);
    }
    if (kind === "inbox" || kind === "conversation") live(kind);
  }
})();
