// Parley agent console: "Copy" buttons (data-copy="<id of the element whose text to copy>"). Without
// this script, or without clipboard access, the text is still there to select and copy by hand.
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("[data-copy]") : null;
    if (!btn) return;
    var src = document.getElementById(btn.getAttribute("data-copy"));
    var status = btn.parentNode.querySelector("[data-copy-status]");
    if (!src) return;
    var say = function (msg) { if (status) status.textContent = msg; };
    var selectIt = function () {
      var range = document.createRange();
      range.selectNodeContents(src);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(src.textContent.trim()).then(function () {
        say("Copied.");
      }, function () {
        selectIt();
        say("Selected: press Ctrl+C (⌘C on a Mac) to copy.");
      });
    } else {
      selectIt();
      say("Selected: press Ctrl+C (⌘C on a Mac) to copy.");
    }
  });
})();
