// Parley console: canned responses in the reply box. Typing "/" at the start of the reply opens a picker
// of the responses, filtered as the agent types (by shortcut and title): ArrowUp/ArrowDown move, Enter
// inserts, Escape closes and keeps the text. It follows the WAI-ARIA combobox pattern: the reply box is
// the combobox, the picker a listbox of options, the active one named by aria-activedescendant.
//
// The responses come from the page's own <select> (the no-script path), each option already filled for
// the conversation by the server: its text, and the values in it that the visitor only claimed. This
// script never fills variables itself. It only says, beside the reply box, which claimed values the reply
// holds, and refuses to send while it holds a variable with no value (the server refuses too).
// Everything here is text: options and notes are built with textContent.
(function () {
  "use strict";

  var LISTBOX_ID = "canned-listbox";
  var picker = null; // {area, list, items, active} while the picker is open

  function composerArea(el) {
    return el && el.tagName === "TEXTAREA" && el.id === "reply-body" && el.closest("form[data-composer]") ? el : null;
  }

  function lines(s) {
    return s ? s.split("\n").filter(function (x) { return x !== ""; }) : [];
  }

  // responses reads the form's select: one entry per response.
  function responses(form) {
    var select = form.querySelector("select[data-canned-select]");
    if (!select) return [];
    var out = [];
    Array.prototype.forEach.call(select.options, function (o) {
      if (!o.value) return;
      out.push({
        id: o.value,
        shortcut: o.getAttribute("data-shortcut") || "",
        title: o.getAttribute("data-title") || "",
        body: o.getAttribute("data-body") || "",
        claimed: lines(o.getAttribute("data-claimed"))
      });
    });
    return out;
  }

  // prepare makes a reply box a combobox (once), and takes the claims of a draft the server put in it.
  function prepare(area) {
    if (area.dataset.cannedReady) return;
    area.dataset.cannedReady = "1";
    var form = area.closest("form");
    if (responses(form).length) {
      area.setAttribute("role", "combobox");
      area.setAttribute("aria-autocomplete", "list");
      area.setAttribute("aria-haspopup", "listbox");
      area.setAttribute("aria-expanded", "false");
      var hint = form.querySelector("[data-canned-hint]");
      if (hint) hint.hidden = false;
    }
    var notes = form.querySelector("[data-canned-notes]");
    area.cannedClaims = notes ? lines(notes.getAttribute("data-claimed")) : [];
    update(area);
  }

  function prepareAll(root) {
    root.querySelectorAll("form[data-composer] textarea#reply-body").forEach(prepare);
  }

  // ---------------------------------------------------------------- notes beside the reply box

  function variables(area) {
    return (area.getAttribute("data-canned-variables") || "").split(" ").filter(Boolean);
  }

  function isNote(form) {
    var kind = form.querySelector('[name="kind"]:checked') || form.querySelector('input[type="hidden"][name="kind"]');
    return !!(kind && kind.value === "note");
  }

  // unfilled lists the variables the reply still holds.
  function unfilled(area) {
    return variables(area).filter(function (v) { return area.value.indexOf(v) >= 0; });
  }

  // update says which claimed values the reply holds and which variables have no value, and marks the
  // reply invalid while it holds one.
  function update(area) {
    var form = area.closest("form");
    var notes = form && form.querySelector("[data-canned-notes]");
    if (!notes) return;
    var claims = (area.cannedClaims || []).filter(function (v) { return area.value.indexOf(v) >= 0; });
    var missing = unfilled(area);
    var key = JSON.stringify([claims, missing]);
    if (notes.dataset.key === key) return;
    notes.dataset.key = key;
    var parts = [];
    if (claims.length) {
      var ul = document.createElement("ul");
      ul.className = "canned-claims";
      claims.forEach(function (v) {
        var li = document.createElement("li");
        li.textContent = v + " is claimed, not verified.";
        ul.appendChild(li);
      });
      parts.push(ul);
    }
    missing.forEach(function (v) {
      var p = document.createElement("p");
      p.className = "canned-unfilled";
      p.textContent = v + " has no value in this conversation: replace it before sending.";
      parts.push(p);
    });
    notes.replaceChildren.apply(notes, parts);
    if (missing.length) area.setAttribute("aria-invalid", "true"); else area.removeAttribute("aria-invalid");
  }

  // ---------------------------------------------------------------- the picker

  // query is what the agent typed after "/" at the start of the reply, or null when the reply is no
  // shortcut being typed.
  function query(area) {
    var m = /^\/([^\s\/]*)$/.exec(area.value);
    return m ? m[1].toLowerCase() : null;
  }

  // matching puts shortcuts that start with q first, then shortcuts and titles that contain it.
  function matching(list, q) {
    var first = [], rest = [];
    list.forEach(function (r) {
      if (r.shortcut.indexOf(q) === 0) first.push(r);
      else if (r.shortcut.indexOf(q) >= 0 || r.title.toLowerCase().indexOf(q) >= 0) rest.push(r);
    });
    return first.concat(rest);
  }

  function open(area, items) {
    var list = document.getElementById(LISTBOX_ID);
    if (!list) {
      list = document.createElement("ul");
      list.id = LISTBOX_ID;
      list.className = "canned-picker";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", "Canned responses");
      area.insertAdjacentElement("afterend", list);
    }
    var nodes = items.map(function (r, i) {
      var li = document.createElement("li");
      li.id = LISTBOX_ID + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      var title = document.createElement("span");
      title.className = "canned-option-title";
      title.textContent = r.title;
      var shortcut = document.createElement("span");
      shortcut.className = "canned-option-shortcut";
      shortcut.textContent = "/" + r.shortcut;
      li.appendChild(title);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(shortcut);
      // The reply box keeps the focus: a click picks without taking it.
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
      li.addEventListener("click", function () { insert(area, r); });
      return li;
    });
    list.replaceChildren.apply(list, nodes);
    picker = { area: area, list: list, items: items, active: 0 };
    area.setAttribute("aria-expanded", "true");
    area.setAttribute("aria-controls", LISTBOX_ID);
    activate(0);
  }

  function close() {
    if (!picker) return;
    var area = picker.area;
    picker.list.remove();
    picker = null;
    area.setAttribute("aria-expanded", "false");
    area.removeAttribute("aria-controls");
    area.removeAttribute("aria-activedescendant");
  }

  function activate(i) {
    var n = picker.items.length;
    picker.active = (i + n) % n;
    Array.prototype.forEach.call(picker.list.children, function (li, j) {
      li.setAttribute("aria-selected", j === picker.active ? "true" : "false");
    });
    var li = picker.list.children[picker.active];
    picker.area.setAttribute("aria-activedescendant", li.id);
    if (li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
  }

  // insert puts a response in the reply box: in place of the "/shortcut" being typed, or after what the
  // reply already holds.
  function insert(area, r) {
    close();
    var typed = area.value;
    area.value = query(area) !== null || typed.trim() === "" ? r.body : typed.replace(/\s+$/, "") + "\n" + r.body;
    area.cannedClaims = (area.cannedClaims || []).concat(r.claimed.filter(function (v) {
      return (area.cannedClaims || []).indexOf(v) < 0;
    }));
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
    update(area);
    // Others listening to the reply box (typing, drafts) hear of the change as of any other edit.
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function refresh(area) {
    var q = query(area);
    var items = q === null ? [] : matching(responses(area.closest("form")), q);
    if (items.length) open(area, items); else close();
  }

  document.addEventListener("input", function (ev) {
    var area = composerArea(ev.target);
    if (!area) return;
    prepare(area);
    if (area.getAttribute("role") === "combobox") refresh(area);
    update(area);
  });

  // Capturing on the document runs before the reply box's own handlers (Enter sends): while the picker
  // is open, its keys are the picker's.
  document.addEventListener("keydown", function (ev) {
    if (!picker || ev.target !== picker.area || ev.isComposing) return;
    var handled = true;
    switch (ev.key) {
      case "ArrowDown": activate(picker.active + 1); break;
      case "ArrowUp": activate(picker.active - 1); break;
      case "Enter":
        if (ev.shiftKey || ev.altKey || ev.ctrlKey || ev.metaKey) { handled = false; break; }
        insert(picker.area, picker.items[picker.active]);
        break;
      case "Escape": close(); break;
      case "Tab": close(); handled = false; break;
      default: handled = false;
    }
    if (handled) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("focusout", function (ev) {
    if (picker && ev.target === picker.area) close();
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var area = form && form.matches && form.matches("form[data-composer]") ? form.querySelector("textarea#reply-body") : null;
    if (!area) return;
    var block = function () { ev.preventDefault(); ev.stopImmediatePropagation(); };
    if (ev.submitter && ev.submitter.hasAttribute("data-canned-insert")) {
      // Insert, with the script: put the chosen response in the box here, rather than reload the page.
      block();
      var select = form.querySelector("select[data-canned-select]");
      var chosen = responses(form).filter(function (r) { return select && r.id === select.value; })[0];
      if (chosen) insert(area, chosen); else if (select) select.focus();
      return;
    }
    if (picker) { block(); return; }
    if (!isNote(form) && unfilled(area).length) {
      // A variable with no value would reach the customer as "{{customer.email}}": not sent.
      block();
      update(area);
      area.focus();
    }
  }, true);

  prepareAll(document);
  // The console swaps the reply box in anew when the conversation changes (console.js).
  if (window.MutationObserver) {
    new MutationObserver(function () { prepareAll(document); }).observe(document.body, { childList: true, subtree: true });
  }
})();
