// The demo shop's own script: a fake sign-in whose back end remembers the user in the shop's cookie and
// signs real Parley login tokens (/demo/token). The page tells the widget who is signed in (the user id
// its back end rendered into the page, no request needed) and gives it a token provider: the widget asks
// for a token only when it needs one — exactly what a real site does (docs/widget.md).
(() => {
  'use strict';
  window.Parley = window.Parley || { q: [] };
  const P = (m, ...a) => (window.Parley[m] ? window.Parley[m](...a) : new Promise((resolve, reject) => window.Parley.q.push([m, a, resolve, reject])));

  const $ = (id) => document.getElementById(id);

  // The token provider: a fresh single-use login token for whoever is signed in to the shop, or null.
  async function tokenProvider() {
    const res = await fetch('/demo/token', { method: 'POST', credentials: 'same-origin' });
    if (!res.ok) throw new Error('the shop could not sign a token (' + res.status + ')');
    return (await res.json()).token;
  }

  // Tell the widget who is signed in now, on every page load and after every sign-in or sign-out.
  const follow = (user) => P('setTokenProvider', tokenProvider, { user });
  follow(document.body.dataset.user || null);

  // A login the server refused (the shop's token, say, or an email domain the workspace does not allow).
  P('on', 'error', (e) => {
    if (/^(token_|email_)/.test(e.code || '')) $('signin-error').textContent = e.message + ' (' + e.code + ')';
  });

  function showUser(user) {
    $('account').textContent = user ? 'Signed in as ' + user.name + ' (' + user.email + ')' : 'Not signed in';
    $('signout').hidden = !user;
  }

  async function signIn(name, email) {
    const res = await fetch('/demo/signin', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, email }),
    });
    const data = await res.json();
    if (!res.ok) throw new Error(data.error ? data.error.message : 'Sign-in failed');
    showUser(data);
    await follow(data.user);
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('signin-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      $('signin-error').textContent = '';
      try {
        await signIn($('name').value.trim(), $('email').value.trim());
      } catch (e) {
        $('signin-error').textContent = e.message;
      }
    });
    $('signout').addEventListener('click', async () => {
      $('signin-error').textContent = '';
      await fetch('/demo/signout', { method: 'POST', credentials: 'same-origin' });
      showUser(null);
      await follow(null);
    });
  });
})();
