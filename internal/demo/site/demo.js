// The demo shop's own script: a fake sign-in whose back end (/demo/signin) signs a real Parley login
// token, then hands it to the widget — exactly what a real site does after its users log in.
(() => {
  'use strict';
  window.Parley = window.Parley || { q: [] };
  const P = (m, ...a) => (window.Parley[m] ? window.Parley[m](...a) : new Promise((resolve, reject) => window.Parley.q.push([m, a, resolve, reject])));

  const $ = (id) => document.getElementById(id);
  const KEY = 'acme-demo-user';

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
    await P('login', data.token);
    sessionStorage.setItem(KEY, JSON.stringify({ name, email }));
    showUser({ name, email });
  }

  document.addEventListener('DOMContentLoaded', () => {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    showUser(saved);
    $('signin-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      $('signin-error').textContent = '';
      try {
        await signIn($('name').value.trim(), $('email').value.trim());
      } catch (e) {
        $('signin-error').textContent = e.message + (e.code ? ' (' + e.code + ')' : '');
      }
    });
    $('signout').addEventListener('click', async () => {
      sessionStorage.removeItem(KEY);
      showUser(null);
      try { await P('logout'); } catch (e) { $('signin-error').textContent = e.message; }
    });
  });
})();
