// Parley first-run setup: copies the token from the setup link's fragment (#token=…) into the form's
// token field. The fragment never reaches a server or a Referer; once copied it is taken out of the
// address bar too, so that it is not left in the browser's history.
(function () {
  "use strict";
  var field = document.querySelector("[data-setup-token]");
  if (!field) return;
  var m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!m) return;
  if (!field.value) field.value = decodeURIComponent(m[1]);
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
})();
