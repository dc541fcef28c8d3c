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
          // A reply may be files alone (attach.js puts their ids in the form).
          if (area.value.trim() === "" && !form.querySelector('input[name="attachment"]')) return;
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

  // markup is a region's markup for comparing two renderings of it: without the reply form's client_id,
  // which is new on every rendering (it only makes a resent form idempotent).
  function markup(region) {
    var copy = region.cloneNode(true);
    copy.querySelectorAll('input[name="client_id"]').forEach(function (el) { el.removeAttribute("value"); });
    return copy.innerHTML;
  }

  // busy reports whether a region holds something the agent is working on: focus in one of its form
  // controls, or a reply being typed.
  function busy(region) {
    var active = document.activeElement;
    if (active && active !== document.body && region.contains(active) && active.closest("form")) return true;
    if (region.querySelector("details[open]")) return true; // a confirmation the agent opened
    if (region.querySelector("[data-attach-chips] li")) return true; // files attached or uploading
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

  // The page holds one page of the timeline (the newest, unless the agent asked for earlier ones).
  // Live events fetch only what is new — entries after the newest shown (…/timeline?after=…), and the
  // regions around the timeline when the conversation itself changed (…/live) — and put them in place,
  // so nothing already on the page is rebuilt.

  function timeline() { return document.querySelector(".timeline"); }

  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 40; }

  // scrollToEnd shows the newest entry: at once when the page opens, smoothly (where motion is welcome)
  // when a live one arrives.
  function scrollToEnd(instant) {
    var t = timeline();
    if (t) t.scrollTo({ top: t.scrollHeight, behavior: instant ? "instant" : "auto" });
  }

  function lastSeq() {
    var t = timeline();
    return t ? parseInt(t.getAttribute("data-last-seq") || "0", 10) : 0;
  }

  function conversationURL(suffix) {
    var t = timeline();
    return "/console/conversations/" + encodeURIComponent(t.getAttribute("data-conversation")) + suffix;
  }

  var readSeq = 0;

  // markRead tells the server the agent has seen the newest message, when the page really shows it.
  function markRead() {
    var t = timeline();
    var seq = lastSeq();
    if (!t || seq <= readSeq || document.visibilityState !== "visible" || !atBottom(t)) return;
    readSeq = seq;
    var body = new URLSearchParams();
    body.set("csrf", csrf);
    body.set("seq", String(seq));
    fetch(conversationURL("/read"), { method: "POST", credentials: "same-origin", body: body })
      .catch(function () { readSeq = 0; });
  }

  function entryKey(li) { return li.getAttribute("data-key"); }

  // adopt prepares entries that came from the server for the page.
  function adopt(nodes) {
    nodes.forEach(function (li) { localizeTimes(li); });
  }

  // appendEntries puts new entries at the end of the timeline (before its closing note, if any),
  // skipping any already shown: two overlapping fetches add each entry once.
  function appendEntries(t, list) {
    var end = t.querySelector("[data-derived]");
    var added = 0;
    Array.prototype.slice.call(list.children).forEach(function (li) {
      if (li.hasAttribute("data-derived")) {
        if (!end) { adopt([li]); t.appendChild(li); end = li; }
        return;
      }
      var key = entryKey(li);
      if (!key || t.querySelector('[data-key="' + key + '"]')) return;
      var empty = t.querySelector("[data-empty]");
      if (empty) empty.remove();
      adopt([li]);
      t.insertBefore(li, end);
      added++;
    });
    return added;
  }

  // refreshEntries appends what the timeline gained since the newest entry the page holds.
  // withSeen also asks for the customer's seen mark, which otherwise arrives on the socket.
  function refreshEntries(withSeen) {
    var t = timeline();
    if (!t || !t.hasAttribute("data-latest")) return Promise.resolve(false);
    var stick = atBottom(t);
    var q = new URLSearchParams();
    q.set("after", t.getAttribute("data-newest-message") || "0");
    q.set("after_event", t.getAttribute("data-newest-event") || "0");
    if (withSeen) q.set("seen", "1");
    return fetchFragment(conversationURL("/timeline?" + q.toString())).then(function (doc) {
      var list = doc.querySelector("ol[data-entries]");
      if (!list || timeline() !== t) return false;
      var before = lastSeq();
      appendEntries(t, list);
      // Only ever forwards: a slow answer must not move the cursor back over entries already shown.
      ["data-newest-message", "data-newest-event", "data-last-seq"].forEach(function (name) {
        var v = parseInt(list.getAttribute(name) || "0", 10);
        if (v > parseInt(t.getAttribute(name) || "0", 10)) t.setAttribute(name, String(v));
      });
      restamp(list.getAttribute("data-status"));
      // How far the customer has read, for typing.js: a seen mark that came before the socket did.
      if (list.hasAttribute("data-seen-n")) {
        document.dispatchEvent(new CustomEvent("parley:frame", { detail: {
          type: "seen", conversation_id: t.getAttribute("data-conversation"),
          n: list.getAttribute("data-seen-n"), at: list.getAttribute("data-seen-at"),
        } }));
      }
      if (stick) scrollToEnd();
      if (lastSeq() > before) announce("New message");
      markRead();
      return list.hasAttribute("data-more");
    });
  }

  // restamp gives every customer message the trust mark of the conversation's status, from the marks
  // the server drew for it, when the status changed since the marks were drawn.
  function restamp(status) {
    var t = timeline();
    if (!t || !status || t.getAttribute("data-status") === status) return;
    var protos = document.querySelector('[data-region="marks"]');
    if (!protos || protos.getAttribute("data-status") !== status) return; // the regions catch up next
    t.setAttribute("data-status", status);
    var marks = protos.querySelectorAll("[data-trust-mark]");
    if (marks.length < 2) return;
    t.querySelectorAll('li[data-sender="customer"]').forEach(function (li) {
      var old = li.querySelector("[data-trust-mark]");
      if (!old) return;
      var proto = li.getAttribute("data-trusted") === "true" ? marks[0] : marks[1];
      var mark = proto.cloneNode(true);
      var id = "trust-note-" + li.getAttribute("data-seq");
      mark.querySelector('[role="tooltip"]').id = id;
      mark.querySelector(".trust").setAttribute("aria-describedby", id);
      var focused = old.contains(document.activeElement);
      old.replaceWith(mark);
      if (focused) mark.querySelector(".trust").focus({ preventScroll: true });
      li.setAttribute("data-trust", mark.getAttribute("data-trust-mark"));
    });
  }

  // refreshRegions swaps in the parts of the page around the timeline.
  function refreshRegions() {
    return fetchFragment(main.getAttribute("data-fragment")).then(function (doc) {
      doc.querySelectorAll("[data-region]").forEach(function (source) {
        var name = source.getAttribute("data-region");
        var target = document.querySelector('[data-region="' + name + '"]');
        if (!target) return;
        // A region the server renders as it did last time is left alone: swapping it would only throw
        // away what the agent has done to it since (a transfer picked, a file refused and its alert).
        var html = markup(source);
        if (rendered[name] === html) return;
        if ((name === "reply" || name === "actions" || name === "block") && busy(target)) return;
        rendered[name] = html;
        swapRegion(target, source);
      });
      var status = document.querySelector("[data-conversation-status]");
      var protos = document.querySelector('[data-region="marks"]');
      if (status && protos) protos.setAttribute("data-status", status.getAttribute("data-conversation-status"));
      var heading = document.getElementById("conv-title");
      if (heading) {
        document.title = "Conversation with " + heading.textContent + " · Parley";
        // Who the customer is may have changed (they signed in): every message of theirs says so.
        document.querySelectorAll("[data-customer-name]").forEach(function (el) {
          if (el.textContent !== heading.textContent) el.textContent = heading.textContent;
        });
      }
      if (status) restamp(status.getAttribute("data-conversation-status"));
    });
  }

  // loadEarlier puts the page before the oldest entry shown at the start of the timeline, keeping what
  // the agent was looking at where it was.
  function loadEarlier(link) {
    var t = timeline();
    var control = link.closest("[data-earlier-control]");
    if (!t || !control || link.getAttribute("aria-busy") === "true") return;
    link.setAttribute("aria-busy", "true");
    var search = new URL(link.href, window.location.href).search;
    fetchFragment(conversationURL("/timeline" + search)).then(function (doc) {
      var list = doc.querySelector("ol[data-entries]");
      if (!list) throw new Error("no entries");
      var fromBottom = t.scrollHeight - t.scrollTop;
      var first = t.firstElementChild;
      var added = [];
      Array.prototype.slice.call(list.children).forEach(function (li) {
        var key = entryKey(li);
        if (!key || t.querySelector('[data-key="' + key + '"]')) return;
        t.insertBefore(li, first);
        added.push(li);
      });
      adopt(added);
      t.scrollTo({ top: t.scrollHeight - fromBottom, behavior: "instant" });
      var next = list.getAttribute("data-earlier-url");
      if (next) {
        link.setAttribute("href", next + "#timeline");
        link.removeAttribute("aria-busy");
      } else {
        // The start of the conversation: the control has nothing left to load, so focus moves to the
        // timeline, where the agent was reading.
        control.remove();
        t.focus({ preventScroll: true });
      }
      announce(added.length === 1 ? "1 earlier entry loaded" : added.length + " earlier entries loaded");
    }).catch(function () {
      link.removeAttribute("aria-busy");
      window.location.assign(link.href); // the link works without the script too
    });
  }

  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-earlier]");
    if (!link || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    loadEarlier(link);
  });

  // A tooltip shown on focus or hover can be dismissed with Escape (WCAG 1.4.13).
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var wrap = document.activeElement && document.activeElement.closest && document.activeElement.closest(".trust-wrap");
    if (wrap) wrap.classList.add("tip-dismissed");
  });
  document.addEventListener("focusout", function (ev) {
    var wrap = ev.target.closest && ev.target.closest(".trust-wrap");
    if (wrap) wrap.classList.remove("tip-dismissed");
  });

  // ---------------------------------------------------------------- live socket

  function live(kind) {
    var tl = timeline();
    var conversation = kind === "conversation" && tl ? tl.getAttribute("data-conversation") : "";
    var pending = null;
    var running = false;
    var again = false;
    // What the next refresh of a conversation fetches: new entries, and the regions around them.
    var wantEntries = false;
    var wantRegions = false;
    var wantSeen = false; // with the entries, the seen mark: after the socket was not listening

    function refresh() {
      if (kind === "inbox") return refreshInbox();
      var entries = wantEntries;
      var regions = wantRegions;
      var seen = wantSeen;
      wantEntries = wantRegions = wantSeen = false;
      var step = regions ? refreshRegions() : Promise.resolve();
      if (!entries) return step;
      var rounds = 0;
      // A burst larger than one page arrives in several answers.
      function more() {
        return refreshEntries(seen && rounds === 0).then(function (left) { if (left && ++rounds < 20) return more(); });
      }
      return step.then(more);
    }

    // Refreshes are coalesced: a burst of events costs one fetch of each kind, and never two at once.
    function schedule(entries, regions) {
      if (entries) wantEntries = true;
      if (regions) wantRegions = true;
      if (pending) return;
      pending = setTimeout(function () {
        pending = null;
        if (running) { again = true; return; }
        running = true;
        refresh().catch(function () {
          // The next event or reconnect tries again, from where the page is.
          wantEntries = wantRegions = true;
          wantSeen = kind === "conversation";
        }).then(function () {
          running = false;
          if (again) { again = false; schedule(); }
        });
      }, 150);
    }

    var attempt = 0;
    var first = true;
    // Other scripts (typing.js) hear the socket's frames as "parley:frame" events on the document and
    // send frames of their own with a "parley:send" event.
    var socket = null;
    document.addEventListener("parley:send", function (ev) {
      if (socket && socket.readyState === 1) socket.send(JSON.stringify(ev.detail));
    });
    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var ws;
      try {
        ws = new WebSocket(scheme + window.location.host + "/console/ws");
      } catch (e) {
        retry();
        return;
      }
      socket = ws;
      ws.addEventListener("message", function (ev) {
        var frame;
        try { frame = JSON.parse(ev.data); } catch (e) { return; }
        document.dispatchEvent(new CustomEvent("parley:frame", { detail: frame }));
        if (frame.type === "ready") {
          attempt = 0;
          // After a reconnect, catch up on whatever happened while the socket was down; on the first
          // connection, on what happened between the page's render and now (a message, a seen mark, or
          // a change of the conversation itself: the visitor logged out, it was closed or reassigned).
          wantSeen = kind === "conversation";
          if (!first || kind === "conversation") schedule(true, true);
          first = false;
          return;
        }
        if (kind === "inbox" && (frame.type === "message" || frame.type === "conversation" || frame.type === "timeline")) {
          schedule();
        } else if (kind === "conversation" && frame.conversation_id === conversation && frame.type !== "typing" && frame.type !== "seen") {
          // A message adds to the timeline only; an event or a change of the conversation may also
          // change who the customer is, its status or its assignee.
          schedule(true, frame.type !== "message");
        }
      });
      ws.addEventListener("close", function (ev) {
        if (ev.code === 4401) { toLogin(); return; }
        retry();
      });
    }
    // A restart or deploy takes the server away for seconds: the first five tries come within a second
    // of each other, and only then does the wait double up to 30 s (each with jitter, so a console full
    // of agents does not come back at one instant).
    function retry() {
      attempt++;
      var delay = Math.min(30000, 1000 * Math.pow(2, Math.max(0, Math.min(attempt - 5, 5))));
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    }
    connect();
  }

  // ---------------------------------------------------------------- start

  // The regions' markup as the server rendered it, before this script or any other touches the page:
  // what refreshRegions compares a fresh rendering with.
  var rendered = {};
  document.querySelectorAll("[data-region]").forEach(function (el) {
    rendered[el.getAttribute("data-region")] = markup(el);
  });
  localizeTimes(document);
  enhanceForms(document);
  if (main) {
    var kind = main.getAttribute("data-live");
    if (kind === "conversation") {
      scrollToEnd(true);
      readSeq = lastSeq(); // the server marked it read when it rendered the page
      var t = timeline();
      if (t) t.addEventListener("scroll", markRead, { passive: true });
      document.addEventListener("visibilitychange", markRead);
    }
    if (kind === "inbox" || kind === "conversation") live(kind);
  }
})();
