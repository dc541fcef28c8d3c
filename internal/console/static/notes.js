// Parley agent console: the composer's Reply / Internal note switch. The switch is a radio group that
// works without this script (the form posts kind=reply or kind=note); the script makes the composer
// look and read like what it will send, and keeps a note's keystrokes from telling the customer that
// an agent is typing.
(function () {
  "use strict";

  function isNote(form) {
    if (!form) return false;
    var checked = form.querySelector('input[name="kind"]:checked') || form.querySelector('input[type="hidden"][name="kind"]');
    return !!checked && checked.value === "note";
  }

  // swap sets an element's text to its data-note-text while the composer writes a note, and back.
  function swap(el, note) {
    if (!el) return;
    if (!el.hasAttribute("data-reply-text")) el.setAttribute("data-reply-text", el.textContent);
    el.textContent = note ? el.getAttribute("data-note-text") : el.getAttribute("data-reply-text");
  }

  function apply(form) {
    var note = isNote(form);
    form.classList.toggle("composing-note", note);
    swap(form.querySelector("[data-reply-label]"), note);
    swap(form.querySelector("[data-reply-submit]"), note);
  }

  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input || input.name !== "kind" || !input.form || !input.form.hasAttribute("data-composer")) return;
    apply(input.form);
    if (isNote(input.form)) {
      // Whatever was typed as a reply so far: the customer's "typing…" ends now.
      var line = document.querySelector("[data-typing-line]");
      var conversation = line ? line.getAttribute("data-conversation") : "";
      if (conversation) {
        document.dispatchEvent(new CustomEvent("parley:send", { detail: { type: "typing", conversation_id: conversation, state: "stop" } }));
      }
    }
  });
  // typing.js sends no typing frames from a composer marked "composing-note".

  // A page may open with the switch on "Internal note" (a refused note comes back with its draft).
  document.querySelectorAll("form[data-composer]").forEach(apply);
})();
