// Parley widget loader: <script src="https://chat.example.com/widget.js" data-workspace="ws_…" async>.
// It queues calls made before the widget arrives and loads the widget from its checksummed URL.
(function () {
  var me = document.currentScript;
  if (!me) return;
  var p = window.Parley = window.Parley || { q: [] };
  if (p.loaded) return;
  if (!p.q) p.q = [];
  ['setUser', 'clearUser', 'login', 'logout', 'setTokenProvider', 'setLocale', 'open', 'close', 'on'].forEach(function (m) {
    if (!p[m]) p[m] = function () {
      var a = arguments;
      return new Promise(function (resolve, reject) { p.q.push([m, a, resolve, reject]); });
    };
  });
  var s = document.createElement('script');
  s.src = new URL('[[.JS]]', me.src).href;
  s.integrity = '[[.JSIntegrity]]';
  s.crossOrigin = 'anonymous';
  s.async = true;
  s.dataset.workspace = me.dataset.workspace || '';
  if (me.dataset.locale) s.dataset.locale = me.dataset.locale;
  s.dataset.css = new URL('[[.CSS]]', me.src).href;
  s.dataset.cssIntegrity = '[[.CSSIntegrity]]';
  (document.head || document.documentElement).appendChild(s);
})();
