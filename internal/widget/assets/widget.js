// Parley chat widget. Plain JavaScript, no framework, rendered in a Shadow DOM.
// Every string from the server or the visitor is inserted with textContent, never as HTML.
(() => {
  'use strict';

  const script = document.currentScript;
  if (!script || (window.Parley && window.Parley.loaded)) return;
  // Page mode: the chat page /chat/{workspace} (docs/mobile.md), the widget alone on the page. Its login
  // token comes in the URL's fragment, #token=…, which leaves the address bar before anything else runs.
  const pageMode = script.dataset.mode === 'page';
  const pageToken = pageMode ? takeFragmentToken() : '';
  const base = new URL(script.src).origin;
  const workspace = script.dataset.workspace || '';
  const cssURL = script.dataset.css || '';
  const cssIntegrity = script.dataset.cssIntegrity || '';
  const prefix = 'parley:' + workspace + ':';
  const TOKEN = 'token';
  const SEEN = 'seen'; // {conversation id: last message id this device has shown with the panel open}

  // Plain-language messages for the visitor in their language, by the server's error code (the keys of
  // the catalogues); a code without one shows the server's own (English) message. Integrators get the
  // server's message on .message.
  const FRIENDLY = {
    network_error: 'err_offline',
    rate_limited: 'err_rate_limited',
    verification_required: 'err_sign_in',
    identification_required: 'err_identify',
    origin_not_allowed: 'err_origin',
    workspace_not_found: 'err_workspace',
    internal_error: 'err_internal',
    invalid_field: 'err_invalid',
    blocked: 'err_blocked',
  };
  const friendly = (e) => (FRIENDLY[e.code] ? t(FRIENDLY[e.code]) : e.status >= 500 ? t('err_internal') : t('err_other', { message: e.message }));

  // ---------------------------------------------------------------- language

  // English is built in: the served script carries assets/i18n/en.json in EN's place. Every other
  // language is a catalogue at a checksummed, immutable URL, fetched with Subresource Integrity the first
  // time it is needed; CATALOGUES (filled in when served) maps each tag to its URL and integrity.
  const EN = '@@EN@@';
  const CATALOGUES = '@@CATALOGUES@@';
  const LOCALE = 'locale'; // the verified login token's locale claim, kept with the session's token
  const cats = { en: EN };
  let words = EN;
  // set: Parley.setLocale's tag, else the script tag's data-locale. seq drops a catalogue that arrives
  // after a later choice.
  const lang = { set: script.dataset.locale || '', seq: 0, want: '' };

  // t is the text of key in the visitor's language (English where a catalogue lacks it), with {name}
  // placeholders filled in; a key with plural forms picks one by vars.n with Intl.PluralRules.
  function t(key, vars) {
    let s = Object.prototype.hasOwnProperty.call(words, key) ? words[key] : EN[key];
    if (s && typeof s === 'object') s = s[new Intl.PluralRules(state.locale).select(vars.n)] || s.other;
    return String(s).replace(/\{(\w+)\}/g, (m, k) => {
      if (!vars || !(k in vars)) return m;
      return typeof vars[k] === 'number' ? new Intl.NumberFormat(state.locale).format(vars[k]) : String(vars[k]);
    });
  }
  // tr marks a text h() shows as translatable, so that a change of language relabels it (relabel).
  class Tr { constructor(key, vars) { this.key = key; this.vars = vars; } }
  const tr = (key, vars) => new Tr(key, vars);

  // supported maps a BCP 47 tag to the language the widget has for it ('' for none): the tag itself,
  // else the first one of the same language ("de-AT" → "de", "pt" → "pt-BR").
  function supported(tag) {
    if (typeof tag !== 'string' || !tag) return '';
    let c;
    try { c = Intl.getCanonicalLocales(tag)[0]; } catch (_) { return ''; }
    const all = ['en'].concat(Object.keys(CATALOGUES));
    if (all.includes(c)) return c;
    const base = c.split('-')[0];
    return all.find((x) => x.split('-')[0] === base) || '';
  }

  // wantedLocale applies docs/widget.md's order: setLocale or data-locale, the verified login token's
  // locale claim, the browser's languages, the workspace's default; English when none is supported.
  function wantedLocale() {
    const claim = state.identity.level === 'verified' ? storage.get(LOCALE) : '';
    const list = [lang.set, claim].concat(Array.from(navigator.languages || [navigator.language]), [state.config && state.config.default_locale]);
    for (const tag of list) { const s = supported(tag); if (s) return s; }
    return 'en';
  }

  // loadCatalogue fetches a language once, however many times it is asked for meanwhile; a failed
  // fetch is tried again the next time the language is chosen.
  const loading = {};
  function loadCatalogue(tag) {
    const c = CATALOGUES[tag];
    if (!loading[tag]) {
      loading[tag] = fetch(new URL(c[0], base).href, { integrity: c[1], credentials: 'omit', mode: 'cors' }).then((res) => {
        if (!res.ok) throw new Error('catalogue ' + tag + ': ' + res.status);
        return res.json();
      });
      loading[tag].catch(() => { delete loading[tag]; });
    }
    return loading[tag];
  }

  // applyLocale switches to the wanted language, loading its catalogue first; a catalogue that cannot be
  // loaded leaves the widget in the language it speaks. It resolves with state.locale.
  async function applyLocale() {
    const tag = wantedLocale();
    const seq = ++lang.seq;
    lang.want = tag;
    if (!cats[tag]) {
      try {
        cats[tag] = await loadCatalogue(tag);
      } catch (e) {
        console.error('Parley: ' + e.message);
        return state.locale;
      }
    }
    if (seq !== lang.seq || (tag === state.locale && words === cats[tag])) return state.locale;
    state.locale = tag;
    words = cats[tag];
    timeFmt = new Intl.DateTimeFormat(fmtLocale(), { hour: '2-digit', minute: '2-digit' });
    relabel();
    return tag;
  }

  // fmtLocale is the locale dates, times and numbers are written in: the browser's own tag for the
  // language the widget speaks (en-GB writes 17:00 where en writes 5:00 PM), else that language's.
  function fmtLocale() {
    const lang = state.locale.split('-')[0];
    for (const tag of Array.from(navigator.languages || [])) {
      try { if (new Intl.Locale(tag).language === lang) return tag; } catch (_) { /* not a tag */ }
    }
    return state.locale;
  }

  // noteLocale keeps the locale claim of the token a login verified (the server hands it back on the
  // identity), or forgets the previous one's.
  function noteLocale(data) {
    const tag = data && data.identity && data.identity.locale;
    if (typeof tag === 'string' && tag) storage.set(LOCALE, tag);
    else storage.remove(LOCALE);
  }

  function setLocale(tag) {
    if (tag != null && typeof tag !== 'string') return Promise.reject(new ParleyError(0, 'invalid_field', 'setLocale needs a language tag such as "de" or "pt-BR", or null'));
    lang.set = tag || '';
    return started.then(() => applyLocale());
  }

  // ---------------------------------------------------------------- storage

  // The chat page keeps its session for the tab's life only (sessionStorage; docs/mobile.md says why).
  const area = () => (pageMode ? sessionStorage : localStorage);
  const storage = {
    get(k) { try { return area().getItem(prefix + k); } catch (_) { return null; } },
    set(k, v) { try { area().setItem(prefix + k, v); } catch (_) { /* private mode: keep it in memory */ } },
    remove(k) { try { area().removeItem(prefix + k); } catch (_) { /* nothing stored */ } },
    wipe() {
      try {
        const a = area();
        for (let i = a.length - 1; i >= 0; i--) {
          const k = a.key(i);
          if (k && k.startsWith(prefix)) a.removeItem(k);
        }
      } catch (_) { /* nothing stored */ }
    },
  };

  // ---------------------------------------------------------------- state

  const state = {
    token: storage.get(TOKEN),
    identity: { level: 'anonymous' },
    locale: 'en', // the BCP 47 tag of the language the widget speaks (applyLocale)
    session: null, // {end, seen, jitter}: when a verified session's absolute lifetime runs out (ms), and when we learnt it
    config: null,
    convs: new Map(), // id → {id, status, created_at, msgs: [message]}
    byId: new Map(), // conversation id + message id → element (ids are unique within a conversation)
    pending: [], // {clientId, body, atts, el, state}
    files: [], // the composer's attachments: {name, size, el, bar, msg, xhr while uploading, att once stored, err}
    blobs: new Map(), // attachment id → promise of a blob URL; replaced (and the URLs revoked) whenever the screen clears
    open: false,
    seen: readSeen(),
    switching: 0, // identity changes pending that may bring someone else: show and send nothing meanwhile
    ready: false,
    listeners: { ready: [], message: [], login: [], logout: [], error: [] },
    ws: null,
    wsAttempts: 0,
    wsTimer: 0,
    retryTimer: 0,
    retryDelay: 1000,
    flushing: false,
    generation: 0, // bumps whenever the person behind the widget changes; stale responses are dropped
    // A page view costs one request (docs/widget.md): until the visitor interacts (opens the panel, the
    // page or token provider signs them in, a message is sent) the widget is passive. It has a session
    // only if one was stored, loads no messages, and keeps a socket only while a conversation is open;
    // the launcher counts unread from the server's summary of the conversations.
    active: false,
    summary: new Map(), // passive: conversation id → {id, status, tail: [ids of agent/system messages after the customer's last]}
  };

  function readSeen() {
    try {
      const v = JSON.parse(storage.get(SEEN) || '{}');
      return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
    } catch (_) { return {}; }
  }

  // wipe forgets everything this device stored for the person behind the widget.
  function wipe() {
    storage.wipe();
    state.seen = {};
  }

  const emit = (ev, arg) => {
    for (const fn of state.listeners[ev] || []) {
      try { fn(arg); } catch (err) { setTimeout(() => { throw err; }); }
    }
  };

  // ---------------------------------------------------------------- server

  class ParleyError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.name = 'ParleyError';
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  async function call(method, path, body, token = state.token, cache = 'no-store') {
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit', cache,
      });
    } catch (_) {
      throw new ParleyError(0, 'network_error', 'Could not reach the chat server.');
    }
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const e = (data && data.error) || {};
      const retry = Number(res.headers.get('Retry-After')) || 0;
      const err = new ParleyError(res.status, e.code || 'http_' + res.status, e.message || 'The chat server answered ' + res.status + '.', retry);
      err.token = token;
      throw err;
    }
    return data || {};
  }

  // setToken takes a token a response handed out: a new session, or a new level or person. From then
  // on the widget is active (the summary was of another token's conversations).
  function setToken(token) {
    if (token !== state.token) { state.active = true; state.summary.clear(); }
    state.token = token;
    if (token) storage.set(TOKEN, token);
  }

  async function newSession() {
    state.token = null;
    const data = await call('POST', '/v1/widget/sessions', { workspace });
    setToken(data.session_token);
    state.identity = data.identity;
    setConfig(data.config);
    noteSession(data);
  }

  // ensureSession resumes the stored session with one request (identity, config and the conversations'
  // summary). Without one (or when it has ended) an active widget starts a new session; a passive one
  // reads only the workspace's config, which browsers keep and revalidate (no session, no write).
  async function ensureSession() {
    if (state.token) {
      try {
        const data = await call('GET', '/v1/widget/session');
        state.identity = data.identity;
        setConfig(data.config);
        noteSession(data);
        setSummary(data.conversations);
        return;
      } catch (e) {
        if (e.code !== 'session_invalid') throw e;
        wipe();
        state.token = null;
      }
    }
    if (state.active || pageMode) { await newSession(); return; }
    state.identity = { level: 'anonymous' };
    noteSession(null);
    state.summary.clear();
    setConfig((await call('GET', '/v1/widget/config?workspace=' + encodeURIComponent(workspace), undefined, null, 'no-cache')).config);
  }

  // ensureToken gives the widget a session when the visitor first interacts: one at a time.
  let creating = null;
  function ensureToken() {
    if (state.token) return Promise.resolve();
    if (!creating) creating = newSession().finally(() => { creating = null; });
    return creating;
  }

  // activate turns a passive widget into a chatting one: a session (created now if there is none), the
  // live connection, and the messages, loaded once by the socket's ready (or now if it is ready already).
  function activate() {
    if (state.active) return;
    state.active = true;
    if (inFlight) return; // the identity change in flight connects when it settles, and ready loads
    if (!state.token) {
      // A session that could not be started is tried again when the visitor next opens the panel or sends.
      ensureToken().then(() => { render(); connect(); }, (e) => { state.active = !!state.token; showError(friendly(e)); emit('error', e); });
      return;
    }
    if (state.ws && state.ws.ready) sync().catch(() => { /* the next reconnect resumes */ });
    else connect();
  }

  // setSummary keeps the server's summary of the conversations (GET /v1/widget/session, the socket's
  // ready) while passive: enough for the badge and to know whether one is open.
  function setSummary(list) {
    state.summary.clear();
    for (const c of Array.isArray(list) ? list : []) {
      if (c && typeof c.id === 'string') state.summary.set(c.id, { id: c.id, status: c.status, tail: Array.isArray(c.unanswered) ? c.unanswered.slice() : [] });
    }
    renderBadge();
    showHost();
  }

  // passiveMessage counts a live message while no messages are loaded: the customer's own answers all
  // before it, an agent's or the system's adds to what may be unread.
  function passiveMessage(m) {
    if (!m || typeof m.id !== 'string' || typeof m.conversation_id !== 'string') return;
    let c = state.summary.get(m.conversation_id);
    if (!c) state.summary.set(m.conversation_id, c = { id: m.conversation_id, status: 'open', tail: [] });
    if (m.sender === 'customer') c.tail = [];
    else if (!c.tail.includes(m.id)) c.tail.push(m.id);
    emit('message', m);
    renderBadge();
    showHost();
  }

  // wantsLive: an active widget keeps a live connection; a passive one only for an open conversation,
  // so an agent's follow-up arrives at once and the badge counts it.
  function wantsLive() {
    if (state.active || pageMode) return true;
    for (const c of state.summary.values()) if (c.status === 'open') return true;
    return false;
  }

  // ---------------------------------------------------------------- DOM

  const h = (tag, attrs, ...children) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v == null) continue;
      if (k === 'class') el.className = v;
      else if (v instanceof Tr) {
        // Kept on the element so that relabel can say it again in another language.
        (el.parleyTr || (el.parleyTr = {}))[k] = v;
        if (k === 'text') el.textContent = t(v.key, v.vars);
        else el.setAttribute(k, t(v.key, v.vars));
      } else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c) el.append(c);
    return el;
  };

  const host = document.createElement('parley-chat');
  // Hidden until the workspace's config says who may see it (render decides).
  host.setAttribute('data-hidden', '');
  // The page's CSS can still reach the host element itself; inline !important wins over any stylesheet.
  for (const [p, v] of [['position', 'fixed'], ['z-index', '2147483000'], ['inset', 'auto 0 0 auto'],
    ['width', '0'], ['height', '0'], ['margin', '0'], ['padding', '0'], ['border', '0'], ['visibility', 'visible'], ['opacity', '1'], ['transform', 'none']]) {
    host.style.setProperty(p, v, 'important');
  }
  const root = host.attachShadow({ mode: 'open' });
  const ui = {};

  // relabel says everything on screen again in the current language: the texts h() was given with tr,
  // then what render draws. The widget's root carries lang and dir (Arabic lays out right to left); the
  // chat page, where the widget is the page, its document too.
  function relabel() {
    const dir = ['ar', 'fa', 'he', 'ur'].includes(state.locale.split('-')[0]) ? 'rtl' : 'ltr';
    for (const el of pageMode ? [ui.frame, document.documentElement] : [ui.frame]) {
      if (!el) continue;
      el.setAttribute('lang', state.locale);
      el.setAttribute('dir', dir);
    }
    for (const el of root.querySelectorAll('*')) {
      for (const [k, v] of Object.entries(el.parleyTr || {})) {
        if (k === 'text') el.textContent = t(v.key, v.vars);
        else el.setAttribute(k, t(v.key, v.vars));
      }
    }
    render();
    renderBadge();
    sendState();
  }

  function build() {
    const link = h('link', { rel: 'stylesheet', href: cssURL });
    if (cssIntegrity) { link.integrity = cssIntegrity; link.crossOrigin = 'anonymous'; }
    const frame = ui.frame = h('div', { class: 'frame', hidden: true, lang: state.locale, dir: 'ltr' });
    link.addEventListener('load', () => { frame.hidden = false; });
    link.addEventListener('error', () => { frame.hidden = false; });

    // One name in both states ("Chat"), the state in aria-expanded; the count is the launcher's
    // description ("2 unread messages"), the badge itself is decoration.
    ui.badge = h('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
    ui.unread = h('span', { class: 'sr-only', id: 'parley-unread' });
    ui.launcher = h('button', { class: 'launcher', type: 'button', 'aria-label': tr('chat'), 'aria-expanded': 'false', 'aria-haspopup': 'dialog', 'aria-controls': 'parley-panel', 'aria-describedby': 'parley-unread', onclick: () => (state.open ? close() : open()) },
      h('span', { class: 'launcher-icon', 'aria-hidden': 'true' }), ui.launcherLabel = h('span', { class: 'launcher-label', 'aria-hidden': 'true' }));
    ui.logo = h('img', { class: 'logo', alt: '', referrerpolicy: 'no-referrer', width: '32', height: '32', hidden: true, onerror: () => { ui.logo.hidden = true; } });

    ui.title = h(pageMode ? 'h1' : 'h2', { class: 'title', id: 'parley-title' });
    ui.who = h('p', { class: 'who', hidden: true });
    ui.closeBtn = h('button', { class: 'close', type: 'button', 'aria-label': tr('close_chat'), onclick: () => close() }, h('span', { 'aria-hidden': 'true', text: '×' }));
    ui.status = h('p', { class: 'status', role: 'status' });
    ui.error = h('p', { class: 'error', role: 'alert', hidden: true });
    ui.greeting = h('div', { class: 'greeting' });
    ui.log = h('div', { class: 'log', role: 'log', 'aria-label': tr('messages'), 'aria-live': 'polite', tabindex: '0' });
    ui.footer = h('div', { class: 'footer' });
    // The chat page: the panel is the page's main content, always open, with nothing to close.
    ui.notice = pageMode ? h('p', { class: 'notice', role: 'status' }) : null;
    ui.drop = h('div', { class: 'drop', hidden: true, 'aria-hidden': 'true' }, h('span', { text: tr('drop_files') }));
    ui.panel = h('div', { class: 'panel', id: 'parley-panel', role: pageMode ? 'main' : 'dialog', 'aria-labelledby': 'parley-title', hidden: !pageMode, onkeydown: onPanelKey,
      ondragenter: onDrag, ondragover: onDrag, ondragleave: onDrag, ondrop: onDrag },
      h('header', { class: 'head' }, ui.logo, h('div', null, ui.title, ui.who), pageMode ? null : ui.closeBtn),
      ui.notice,
      ui.body = h('div', { class: 'body' }, ui.greeting, ui.log, typingIndicator()),
      ui.status, ui.error, tools(), ui.footer, ui.drop);
    if (pageMode) {
      state.open = true;
      host.setAttribute('data-page', '');
      frame.append(ui.panel);
      fitViewport();
    } else frame.append(ui.panel, ui.launcher, ui.badge, ui.unread);
    root.append(link, frame);
    ui.frame = frame;
  }

  function onPanelKey(ev) {
    if (ev.key === 'Escape' && !pageMode) { ev.preventDefault(); close(); }
  }

  function composer() {
    const input = h('textarea', { class: 'input', rows: '2', 'aria-label': tr('message'), placeholder: tr('placeholder'), maxlength: String((state.config && state.config.max_message_length) || 4000) });
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
    });
    input.addEventListener('input', () => (input.value ? typingKey() : typingStop()));
    // A screenshot pasted into the composer is attached; pasted text stays text.
    input.addEventListener('paste', (ev) => {
      const files = ev.clipboardData && ev.clipboardData.files;
      if (files && files.length && attOn()) { ev.preventDefault(); addFiles(files); }
    });
    const picker = h('input', { type: 'file', multiple: true, hidden: true, tabindex: '-1', accept: attCfg().accept || false, onchange: () => { addFiles(picker.files); picker.value = ''; } });
    ui.attach = h('button', { type: 'button', class: 'attach', 'aria-label': tr('attach_files'), hidden: !attCfg().enabled, onclick: () => attOn() && picker.click() }, h('span', { 'aria-hidden': 'true' }));
    ui.chips = h('div', { class: 'chips' }, ...state.files.map((f) => f.el));
    ui.send = h('button', { type: 'submit', class: 'send', text: tr('send') });
    const form = h('form', { class: 'composer', 'aria-label': tr('send_form') }, ui.chips, input, ui.attach, picker, ui.send);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = input.value;
      // A message goes with its files once they are all uploaded (Send is disabled meanwhile).
      if (state.files.some((f) => f.xhr)) return;
      const atts = state.files.filter((f) => f.att).map((f) => f.att);
      if (!body.trim() && !atts.length) return;
      input.value = '';
      clearFiles();
      typingStop();
      send(body.trim() ? body : '', atts);
      input.focus();
    });
    sendState();
    return form;
  }

  function onboarding(id) {
    const nameErr = h('span', { class: 'field-error', id: 'parley-name-err', role: 'alert' });
    const emailErr = h('span', { class: 'field-error', id: 'parley-email-err', role: 'alert' });
    const name = h('input', { id: 'parley-name', type: 'text', autocomplete: 'name', required: true, maxlength: '200', 'aria-describedby': 'parley-name-err' });
    const email = h('input', { id: 'parley-email', type: 'email', autocomplete: 'email', required: true, maxlength: '254', 'aria-describedby': 'parley-email-err' });
    name.value = id.name || '';
    email.value = id.email || '';
    const intro = bizText('onboarding_intro');
    const form = h('form', { class: 'onboarding', 'aria-label': tr('intro_form'), novalidate: true },
      h('p', { class: 'hint', text: intro || tr('intro_hint') }),
      h('label', { for: 'parley-name', text: tr('name') }), name, nameErr,
      h('label', { for: 'parley-email', text: tr('email') }), email, emailErr,
      h('button', { type: 'submit', class: 'send', text: tr('start_chat') }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      nameErr.textContent = name.value.trim() ? '' : t('need_name');
      emailErr.textContent = /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.value.trim()) ? '' : t('need_email');
      name.setAttribute('aria-invalid', String(!!nameErr.textContent));
      email.setAttribute('aria-invalid', String(!!emailErr.textContent));
      if (nameErr.textContent || emailErr.textContent) {
        (nameErr.textContent ? name : email).focus();
        return;
      }
      try {
        await changeIdentity(() => identify({ name: name.value.trim(), email: email.value.trim() }));
        focusInput();
      } catch (e) {
        if (e.code === 'invalid_field') emailErr.textContent = t('check_name_email');
        else showError(friendly(e));
      }
    });
    return form;
  }

  function signInPrompt() {
    const box = h('div', { class: 'signin' }, h('p', { text: tr('err_sign_in') }));
    const url = safeURL(state.config && state.config.login_url);
    if (url) box.append(h('a', { class: 'button', href: url, target: '_top', text: tr('sign_in') }));
    return box;
  }

  function safeURL(u) {
    if (typeof u !== 'string' || !u.trim()) return '';
    try {
      const url = new URL(u, location.href);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : '';
    } catch (_) { return ''; }
  }

  // render redraws everything that depends on the config and identity. While an identity change that
  // may bring someone else is pending, it shows nobody: a neutral panel whose composer holds messages.
  function render() {
    const c = state.config;
    if (!c) return;
    // A login, a logout or the workspace's config may change the language: say it all again once its
    // catalogue is here (applyLocale relabels, which renders).
    if (wantedLocale() !== lang.want) applyLocale();
    const waiting = state.switching > 0;
    const id = waiting ? { level: '' } : state.identity;
    const verified = id.level === 'verified';
    ui.title.textContent = c.name || t('chat');
    ui.panel.setAttribute('aria-label', c.name ? t('chat_with', { name: c.name }) : t('chat_with_us'));
    ui.panel.removeAttribute('aria-labelledby');
    ui.who.hidden = !verified;
    ui.who.textContent = verified ? t('signed_in_as', { who: (id.name || id.email) + (id.name && id.email ? ' (' + id.email + ')' : '') }) : '';
    ui.log.setAttribute('aria-busy', String(waiting));

    // The server picks the name to greet by (given_name, else the name without honorifics); no name, no guess.
    const name = id.first_name;
    ui.greeting.replaceChildren(h('p', { class: 'hello', text: waiting ? t('one_moment') : name ? t('hello_name', { name }) : bizText('greeting') || t('hello') }));
    const first = bizText('first_message');
    if (first && !waiting) ui.greeting.append(h('p', { class: 'first', text: first }));
    const login = safeURL(c.login_url);
    if (login && !verified && !waiting && c.anonymous_chat) ui.greeting.append(h('a', { class: 'login-link', href: login, target: '_top', text: tr('sign_in') }));

    const hadFocus = root.activeElement && ui.footer.contains(root.activeElement);
    if (waiting) {
      if (!ui.footer.querySelector('.composer')) ui.footer.replaceChildren(composer());
    } else if ((!c.anonymous_chat || (pageMode && !visible())) && !verified) ui.footer.replaceChildren(signInPrompt());
    else if (c.onboarding && !verified && !(id.name && id.email) && !inFlight) {
      // Onboarding asks for a name and an email: a visitor the page identified with less (a phone
      // number, a name alone) is asked for the rest. Keep a form the visitor is typing into; while the
      // page is identifying them, do not ask.
      if (!ui.footer.querySelector('.onboarding')) ui.footer.replaceChildren(onboarding(id));
    } else if (!ui.footer.querySelector('.composer')) ui.footer.replaceChildren(composer());
    if (ui.attach) ui.attach.hidden = !attCfg().enabled;
    if (hadFocus) focusInput();
    renderHours();
    renderTools();
    applyAppearance();
    showHost();
  }

  // ---------------------------------------------------------------- appearance and the business's texts

  // bizText is the business's own text for a field (greeting, first_message, away_notice,
  // onboarding_intro) in the visitor's language: that locale's, else its language's (de for de-AT), else
  // the default language's; '' when there is none, and the widget says its own words then.
  function bizText(field) {
    const c = state.config || {};
    const texts = c.texts && typeof c.texts === 'object' ? c.texts : {};
    const locale = typeof state.locale === 'string' ? state.locale.toLowerCase() : '';
    for (const want of locale ? [locale, locale.split('-')[0]] : []) {
      const tag = Object.keys(texts).find((k) => k.toLowerCase() === want);
      const t = tag && texts[tag];
      if (t && typeof t[field] === 'string' && t[field]) return t[field];
    }
    return typeof c[field] === 'string' ? c[field] : '';
  }

  // applyAppearance wears the workspace's look: colours as custom properties on the frame (only values
  // that are colours: the page's CSS cannot be reached, but nothing but #rrggbb goes in either), the
  // side and theme as attributes widget.css styles, the launcher's label and the header's logo.
  const COLOR = /^#[0-9a-fA-F]{6}$/;
  function applyAppearance() {
    const a = (state.config && state.config.appearance) || {};
    const frame = ui.frame;
    if (COLOR.test(a.brand_color || '') && COLOR.test(a.text_color || '')) {
      frame.style.setProperty('--brand', a.brand_color);
      frame.style.setProperty('--on-brand', a.text_color);
    } else {
      frame.style.removeProperty('--brand');
      frame.style.removeProperty('--on-brand');
    }
    frame.setAttribute('data-theme', a.theme === 'dark' || a.theme === 'auto' ? a.theme : 'light');
    frame.setAttribute('data-position', a.position === 'left' && !pageMode ? 'left' : 'right'); // the chat page has no side
    const label = typeof a.launcher_label === 'string' ? a.launcher_label.trim() : '';
    // A label is the launcher's name as well as its text (what is seen is what a voice user says).
    ui.launcher.setAttribute('aria-label', label || t('chat'));
    ui.launcherLabel.textContent = label;
    ui.launcher.classList.toggle('labelled', !!label);
    const logo = typeof a.logo_url === 'string' && a.logo_url.startsWith('https://') ? a.logo_url : '';
    if (logo && ui.logo.getAttribute('src') !== logo) { ui.logo.hidden = false; ui.logo.src = logo; }
    else if (!logo) { ui.logo.hidden = true; ui.logo.removeAttribute('src'); }
  }

  // showHost shows or hides the whole widget. The chat page is never hidden: a visitor the rules do not
  // show the chat to gets the sign-in prompt, and out of hours the away notice.
  function showHost() {
    const show = (visible() && !hoursHide()) || pageMode;
    host.toggleAttribute('data-hidden', !show);
    if (!show && state.open) close();
  }

  // visible applies the workspace's rules on who sees the widget; the server enforces them as well.
  function visible() {
    const c = state.config;
    if (!c) return false;
    const id = state.identity;
    const verified = id.level === 'verified';
    if (c.hide_until_login && !verified) return false;
    const domains = c.allowed_email_domains || [];
    if (domains.length) {
      if (!verified || !id.email) return false;
      return domains.includes(id.email.slice(id.email.lastIndexOf('@') + 1));
    }
    return true;
  }

  function focusInput() {
    const el = ui.footer.querySelector('textarea') || ui.footer.querySelector('input, a, button');
    if (el) el.focus();
  }

  function open() {
    if (!visible() || hoursHide()) return;
    activate();
    state.open = true;
    ui.panel.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'true');
    markSeen();
    renderBadge();
    ui.body.scrollTop = ui.body.scrollHeight;
    focusInput();
  }

  function close() {
    if (pageMode) return;
    const wasOpen = state.open;
    state.open = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
    renderBadge();
    if (wasOpen) ui.launcher.focus();
  }

  function renderBadge() {
    if (!ui.badge) return;
    const n = state.open || state.switching ? 0 : unread();
    ui.badge.hidden = n === 0;
    ui.badge.textContent = n > 99 ? '99+' : String(n);
    ui.unread.textContent = n ? t('unread', { n }) : '';
  }

  // unread counts the agent's (and system) messages this device has not shown with the panel open: in
  // each conversation, those after the later of the device's mark and the customer's last message (an
  // answer means they saw what came before). A device without a mark counts only open conversations, so
  // a new device does not flag every old goodbye.
  function unread() {
    let n = 0;
    if (!state.active) {
      for (const c of state.summary.values()) {
        const mark = typeof state.seen[c.id] === 'string' ? state.seen[c.id] : '';
        if (!mark && c.status !== 'open') continue;
        for (const id of c.tail) if (id > mark) n++;
      }
      return n;
    }
    for (const c of state.convs.values()) {
      const mark = typeof state.seen[c.id] === 'string' ? state.seen[c.id] : '';
      if (!mark && c.status !== 'open') continue;
      let since = mark;
      for (let i = c.msgs.length - 1; i >= 0 && c.msgs[i].id > since; i--) {
        if (c.msgs[i].sender === 'customer') { since = c.msgs[i].id; break; }
      }
      for (const m of c.msgs) if (m.sender !== 'customer' && m.id > since) n++;
    }
    return n;
  }

  // markSeen records, while the panel is open, the last message of each conversation on screen.
  function markSeen() {
    if (!state.open || state.switching) return;
    reportSeen();
    const next = {};
    let changed = false;
    for (const c of state.convs.values()) {
      const last = c.msgs.length ? c.msgs[c.msgs.length - 1].id : '';
      const mark = typeof state.seen[c.id] === 'string' ? state.seen[c.id] : '';
      next[c.id] = last > mark ? last : mark;
      if (next[c.id] !== mark) changed = true;
      if (!next[c.id]) delete next[c.id];
    }
    if (!changed) return;
    state.seen = next;
    storage.set(SEEN, JSON.stringify(next));
  }

  function forgetSeen() {
    state.seen = {};
    storage.remove(SEEN);
  }

  let errorTimer = 0;
  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { ui.error.hidden = true; }, 8000);
  }

  // A visitor an agent blocked is told only that the chat is unavailable, and is told so until a message
  // goes through again (the block lifted) or someone else takes over the widget.
  function setStatus(text) { ui.status.textContent = text || (state.blocked ? t('err_blocked') : ''); }

  // ---------------------------------------------------------------- messages

  // The time under a message, in the visitor's language (applyLocale makes it anew).
  let timeFmt = new Intl.DateTimeFormat(fmtLocale(), { hour: '2-digit', minute: '2-digit' });

  function bubble(sender, body, stateName, atts) {
    const el = h('div', { class: 'msg from-' + sender, 'data-sender': sender, 'data-state': stateName },
      h('span', { class: 'sr-only', text: sender === 'customer' ? tr('you') : sender === 'agent' ? tr('agent') : '' }),
      h('p', { class: 'text', text: body }),
      atts && atts.length ? attachments(atts) : null,
      h('span', { class: 'meta', text: stateName === 'pending' ? t('sending') : '' }));
    // An agent's "please sign in" arrives as a system message carrying the workspace's login link: make
    // that link a real one (the URL comes from the config, not from the message text).
    const login = sender === 'system' && state.config ? safeURL(state.config.login_url) : '';
    if (login && body.includes(state.config.login_url)) {
      el.insertBefore(h('a', { class: 'button', href: login, target: '_top', text: tr('sign_in') }), el.lastChild);
    }
    return el;
  }

  function markSent(el, m) {
    el.dataset.state = 'sent';
    el.dataset.id = m.id;
    el.dataset.conversation = m.conversation_id;
    const t = new Date(m.created_at);
    el.querySelector('.meta').textContent = isNaN(t) ? '' : timeFmt.format(t);
  }

  function conv(id, created) {
    let c = state.convs.get(id);
    if (!c) {
      c = { id, status: 'open', created_at: created || new Date().toISOString(), msgs: [] };
      state.convs.set(id, c);
    }
    return c;
  }

  const msgKey = (m) => m.conversation_id + ' ' + m.id;

  // addMessage shows a stored message once, in order: by conversation, then by id.
  function addMessage(m, live) {
    if (!m || !m.id || state.byId.has(msgKey(m))) return false;
    const c = conv(m.conversation_id, m.created_at);
    let el = null;
    if (m.client_id) {
      const p = state.pending.find((x) => x.clientId === m.client_id);
      if (p) { el = p.el; state.pending.splice(state.pending.indexOf(p), 1); }
      else el = ui.log.querySelector('[data-client-id="' + CSS.escape(m.client_id) + '"]');
    }
    if (!el) el = bubble(m.sender, m.body, 'sent', m.attachments);
    if (m.client_id) el.dataset.clientId = m.client_id;
    markSent(el, m);
    state.byId.set(msgKey(m), el);
    let i = c.msgs.length;
    while (i > 0 && c.msgs[i - 1].id > m.id) i--;
    c.msgs.splice(i, 0, m);
    const next = c.msgs[i + 1] ? state.byId.get(msgKey(c.msgs[i + 1])) : nextConversationStart(c);
    if (el.parentNode !== ui.log || next) ui.log.insertBefore(el, next || pendingStart());
    if (c.msgs.length === 1) renderTools();
    if (live) {
      emit('message', m);
      markSeen();
      renderBadge();
    }
    ui.body.scrollTop = ui.body.scrollHeight;
    return true;
  }

  function pendingStart() {
    return state.pending.length ? state.pending[0].el : null;
  }

  // nextConversationStart returns the first element of a conversation started after c, if any.
  function nextConversationStart(c) {
    let best = null;
    for (const o of state.convs.values()) {
      if (o === c || !o.msgs.length || o.created_at < c.created_at || (o.created_at === c.created_at && o.id < c.id)) continue;
      if (!best || o.created_at < best.created_at) best = o;
    }
    return best ? state.byId.get(msgKey(best.msgs[0])) : null;
  }

  // resetMessages clears the conversation view. Messages still waiting to be sent stay when the same
  // person continues (a login upgrading them); they are dropped when someone else takes over.
  function resetMessages(keepPending) {
    state.convs.clear();
    state.byId.clear();
    // No file of the previous screen stays reachable: its blob URLs go, even for the same person (the
    // messages kept load theirs again).
    dropBlobs();
    if (!keepPending) {
      for (const p of state.pending) p.dropped = true;
      state.pending = [];
      clearFiles();
    }
    for (const p of state.pending) p.el.querySelectorAll('img[data-att]').forEach(thumb);
    if (ui.log) ui.log.replaceChildren(...state.pending.map((p) => p.el));
    renderBadge();
    if (ui.tools) { ui.toolsNote.textContent = ''; renderTools(); }
  }

  // sync loads every message the visitor may see that is not on screen yet (after a start, a login or a
  // reconnect); ?after= makes it a resume, not a reload.
  async function sync() {
    if (state.switching) return; // whoever ends the change loads the new person's messages
    const gen = state.generation;
    // What was on screen before asking: a live message arriving meanwhile must not move the resume
    // point past messages not loaded yet (it is loaded again, and dropped as a duplicate).
    const last = new Map();
    for (const c of state.convs.values()) if (c.msgs.length) last.set(c.id, c.msgs[c.msgs.length - 1].id);
    const { conversations } = await call('GET', '/v1/widget/conversations');
    if (gen !== state.generation) return;
    const list = (conversations || []).slice(0, 20).reverse(); // oldest first
    for (const c of list) {
      const known = conv(c.id, c.created_at);
      known.status = c.status;
      known.created_at = c.created_at;
      let after = last.get(c.id) || '';
      for (;;) {
        const q = after ? '?after=' + encodeURIComponent(after) : '';
        const { messages, read } = await call('GET', '/v1/widget/conversations/' + encodeURIComponent(c.id) + '/messages' + q);
        if (gen !== state.generation) return;
        for (const m of messages || []) addMessage(m, false);
        if (typeof read === 'string') showRead(c.id, read);
        if (!messages || messages.length < 500) break;
        after = messages[messages.length - 1].id;
      }
    }
    markSeen();
    renderBadge();
    renderTools();
    showHost(); // out of hours, an open conversation keeps a hiding widget shown
  }

  function notSent(item) {
    item.failed = true;
    item.el.dataset.state = 'failed';
    item.el.querySelector('.meta').textContent = t('not_sent');
  }

  // giveBack returns messages that could not be sent to the composer, so nothing typed is lost.
  function giveBack(items) {
    const input = ui.footer.querySelector('.composer .input');
    const bodies = [];
    for (const item of items) {
      if (item.failed) continue;
      if (input) { item.el.remove(); bodies.push(item.body); item.atts.forEach(restoreFile); } else notSent(item);
    }
    if (input && bodies.some((b) => b)) input.value = bodies.concat(input.value ? [input.value] : []).filter((b) => b).join('\n');
  }

  function newClientId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function send(body, atts = []) {
    // Typed while the page changes who is signed in: it belongs to whoever that change brings, and waits.
    const item = { clientId: newClientId(), body, atts, el: bubble('customer', body, 'pending', atts), held: inFlight > 0 };
    item.el.dataset.clientId = item.clientId;
    state.pending.push(item);
    ui.log.append(item.el);
    ui.body.scrollTop = ui.body.scrollHeight;
    flush();
  }

  // flush sends queued messages in order. A message is retried with the same client_id until the server
  // answers, so it is stored exactly once however often the connection drops.
  async function flush() {
    if (state.flushing || inFlight) return; // settle() flushes once the identity change is over
    if (!state.token) {
      // Sending is an interaction: it starts the session (the socket's ready flushes again).
      if (state.pending.length) ensureToken().then(() => { render(); connect(); flush(); }, () => { state.retryTimer = setTimeout(flush, state.retryDelay); });
      return;
    }
    state.flushing = true;
    clearTimeout(state.retryTimer);
    try {
      while (state.pending.length) {
        const item = state.pending[0];
        if (item.failed) { state.pending.shift(); continue; }
        const gen = state.generation;
        try {
          const out = { body: item.body, client_id: item.clientId };
          if (item.atts.length) out.attachments = item.atts.map((a) => a.id);
          const { message } = await call('POST', '/v1/widget/messages', out);
          if (gen !== state.generation || item.dropped) continue;
          state.retryDelay = 1000;
          state.blocked = false;
          setStatus('');
          if (!addMessage(message, true)) {
            const i = state.pending.indexOf(item);
            if (i >= 0) state.pending.splice(i, 1);
          }
        } catch (e) {
          if (gen !== state.generation || item.dropped) continue;
          if (e.status === 0 || e.status >= 500 || e.status === 429) {
            setStatus(e.status === 0 ? t('offline_waiting') : t('waiting'));
            const wait = Math.max(state.retryDelay, (e.retryAfter || 0) * 1000);
            state.retryDelay = Math.min(state.retryDelay * 2, 30000);
            state.retryTimer = setTimeout(flush, wait + Math.random() * 250);
            return;
          }
          if (e.code === 'session_invalid') {
            setStatus(t('waiting'));
            sessionRefused(e.token).then(() => { if (state.token !== e.token) flush(); });
            return;
          }
          if (e.code === 'blocked') {
            state.blocked = true;
            setStatus('');
            giveBack(state.pending.splice(0));
            emit('error', e);
            return;
          }
          state.pending.shift();
          notSent(item);
          showError(friendly(e));
          emit('error', e);
        }
      }
    } finally {
      state.flushing = false;
    }
  }

  // ---------------------------------------------------------------- attachments

  // Files go up one by one (XMLHttpRequest, for its upload progress) before the message that refers to
  // them; the server decides what it accepts, the widget only spares a visitor a hopeless upload. Files
  // come down with the session's header into blob URLs: no token ever goes into a URL.
  const attCfg = () => (state.config && state.config.attachments) || {};
  const attOn = () => !!attCfg().enabled && !inFlight && !!ui.chips && ui.chips.isConnected;

  // fmtSize writes a file's size with the visitor's digits and decimal sign (Intl.NumberFormat) and the
  // symbols B, KB and MB, which read the same in every language the widget speaks.
  function fmtSize(n) {
    const [v, unit, digits] = n < 1000 ? [n, 'B', 0] : n < 1e6 ? [n / 1000, 'KB', 0] : [n / 1e6, 'MB', 1];
    return new Intl.NumberFormat(fmtLocale(), { maximumFractionDigits: digits, useGrouping: false }).format(v) + ' ' + unit;
  }

  // Why a file was refused, by the server's code (the catalogues' keys).
  const REFUSED = {
    attachment_type_not_allowed: 'file_type',
    attachment_type_mismatch: 'file_mismatch',
    attachment_unsafe: 'file_unsafe',
    attachments_disabled: 'files_off',
    rate_limited: 'file_rate',
    network_error: 'file_network',
  };

  // announce tells screen readers politely, in the live region the typing note uses.
  function announce(text) { ui.typingNote.textContent = text; }

  function addFiles(list) {
    const max = attCfg().max_files || 5;
    for (const file of Array.from(list)) {
      if (state.files.filter((f) => !f.err).length >= max) { showError(t('max_files', { n: max })); break; }
      const f = chip({ name: file.name || 'file', size: file.size });
      if (attCfg().max_size && file.size > attCfg().max_size) refuse(f, 'attachment_too_large');
      else upload(f, file);
    }
    sendState();
  }

  function chip(f) {
    f.bar = h('span', { class: 'bar', role: 'progressbar', 'aria-label': tr('uploading', { name: f.name }), 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, h('span'));
    f.msg = h('span', { class: 'chip-msg' });
    f.el = h('div', { class: 'chip' }, h('span', { class: 'chip-name', text: f.name }), h('span', { class: 'chip-size', text: fmtSize(f.size) }),
      f.x = h('button', { type: 'button', class: 'chip-x', onclick: () => { unfile(f); focusInput(); } }, h('span', { 'aria-hidden': 'true', text: '×' })),
      f.bar, f.msg);
    state.files.push(f);
    ui.chips.append(f.el);
    ui.body.scrollTop = ui.body.scrollHeight; // the composer grew
    sendState();
    return f;
  }

  // restoreFile puts an uploaded file of a message given back into the composer again.
  function restoreFile(att) {
    const f = chip({ name: att.name, size: att.size, att });
    f.bar.remove();
  }

  function upload(f, file) {
    const x = new XMLHttpRequest();
    const token = state.token;
    const body = new FormData();
    body.append('file', file, f.name);
    f.xhr = x;
    x.open('POST', base + '/v1/widget/attachments');
    x.setRequestHeader('Authorization', 'Bearer ' + token);
    x.upload.onprogress = (ev) => {
      if (!ev.lengthComputable) return;
      const pct = Math.round((100 * ev.loaded) / ev.total);
      f.bar.setAttribute('aria-valuenow', String(pct));
      f.bar.firstChild.style.width = pct + '%';
    };
    x.onloadend = () => {
      if (f.xhr !== x) return; // removed meanwhile
      f.xhr = null;
      let data = null;
      try { data = JSON.parse(x.responseText); } catch (_) { /* not JSON */ }
      if (x.status >= 200 && x.status < 300 && data && data.attachment) {
        f.att = data.attachment;
        f.bar.remove();
        announce(t('file_ready', { name: f.name }));
      } else {
        const code = !x.status ? 'network_error' : x.status === 413 ? 'attachment_too_large' : ((data && data.error) || {}).code;
        refuse(f, code);
        if (code === 'session_invalid') sessionRefused(token); // the session ended meanwhile: follow whoever is there now
      }
      sendState();
    };
    x.send(body);
  }

  function refuse(f, code) {
    f.err = code || 'error';
    f.bar.remove();
    const name = f.name;
    f.msg.textContent = code === 'attachment_too_large' ? t('file_too_large', { name, size: fmtSize(attCfg().max_size) })
      : REFUSED[code] ? t(REFUSED[code], { name }) : t('file_failed', { name }) + (FRIENDLY[code] ? ' ' + t(FRIENDLY[code]) : '');
    announce(f.msg.textContent);
  }

  // unfile takes a file off the composer, cancelling its upload.
  function unfile(f) {
    const x = f.xhr;
    f.xhr = null;
    if (x) x.abort();
    f.el.remove();
    const i = state.files.indexOf(f);
    if (i >= 0) state.files.splice(i, 1);
    sendState();
  }

  // clearFiles empties the composer's files, and the live region that may still name one.
  function clearFiles() {
    state.files.slice().forEach(unfile);
    if (ui.typingNote) announce('');
  }

  // sendState follows the uploads: Send waits for them, each chip's button cancels or removes.
  function sendState() {
    for (const f of state.files) f.x.setAttribute('aria-label', t(f.xhr ? 'cancel_upload' : 'remove_file', { name: f.name }));
    if (ui.send) ui.send.disabled = state.files.some((f) => f.xhr);
  }

  // Files dragged over the panel show where they go; dropped, they are attached. The depth counts the
  // enter and leave events of the panel's children.
  let dragDepth = 0;
  function onDrag(ev) {
    if (ev.type === 'dragleave') { if (dragDepth && !--dragDepth) ui.drop.hidden = true; return; }
    if (!attOn() || !ev.dataTransfer || !Array.from(ev.dataTransfer.types).includes('Files')) return;
    ev.preventDefault();
    if (ev.type === 'dragenter') dragDepth++;
    ui.drop.hidden = ev.type === 'drop';
    if (ev.type === 'drop') { dragDepth = 0; addFiles(ev.dataTransfer.files); }
  }

  // attachments shows a message's files: images as thumbnails, others as a card that downloads them.
  function attachments(atts) {
    return h('div', { class: 'atts' }, ...atts.map((a) => {
      if (a.image) {
        // The stored width and height reserve the thumbnail's place before it loads.
        const img = h('img', { alt: a.name, width: a.width || false, height: a.height || false, 'data-att': a.id });
        thumb(img);
        return img;
      }
      const save = () => blob(a.id).then((url) => h('a', { href: url, download: a.name }).click(), () => showError(t('file_download_failed', { name: a.name })));
      return h('button', { type: 'button', class: 'file', onclick: save },
        h('span', { class: 'fname', text: a.name }), h('span', { class: 'fmeta', text: String(a.kind || '').toUpperCase() + ' · ' + fmtSize(a.size) }));
    }));
  }

  function thumb(img) { blob(img.dataset.att).then((url) => { img.src = url; }, () => {}); }

  // blob fetches an attachment once per screen. A fetch that ends after the screen was cleared makes no
  // URL: the cache it belonged to is gone.
  function blob(id) {
    let p = state.blobs.get(id);
    if (p) return p;
    const cache = state.blobs;
    p = fetch(base + '/v1/widget/attachments/' + encodeURIComponent(id), { headers: { Authorization: 'Bearer ' + state.token }, credentials: 'omit', cache: 'no-store' })
      .then((res) => {
        if (!res.ok) throw new ParleyError(res.status, 'http_' + res.status, 'The file could not be loaded.');
        return res.blob();
      })
      .then((b) => {
        if (cache !== state.blobs) throw new ParleyError(0, 'cleared', 'The screen was cleared.');
        return URL.createObjectURL(b);
      });
    p.catch(() => { if (cache.get(id) === p) cache.delete(id); });
    cache.set(id, p);
    return p;
  }

  function dropBlobs() {
    for (const p of state.blobs.values()) p.then((url) => URL.revokeObjectURL(url), () => {});
    state.blobs = new Map();
  }

  // ---------------------------------------------------------------- business hours

  // The config's hours say whether the workspace is open now (by the server's clock) and when that
  // changes. Out of hours the widget says when the team answers, in the visitor's own time zone; in
  // "hide" mode it also hides from visitors with nothing going on. Messages are taken either way.
  const hoursCfg = () => (state.config && state.config.hours) || {};
  const outOfHours = () => !!hoursCfg().enabled && !hoursCfg().open;
  const DAY = 86400000;
  let hoursTimer = 0;

  function setConfig(config) {
    state.config = config;
    scheduleHours();
  }

  // hoursHide: a widget that hides out of hours still shows to a visitor with an open conversation (an
  // answer may come to it), and stays while its panel is open.
  function hoursHide() {
    if (!outOfHours() || hoursCfg().mode !== 'hide' || state.open || pageMode) return false;
    for (const c of (state.active ? state.convs : state.summary).values()) if (c.status === 'open') return false;
    return true;
  }

  function awayText() {
    const own = bizText('away_notice');
    const at = Date.parse(hoursCfg().next_open);
    // The business's own notice replaces "We're away."; when the team is back is still said.
    if (isNaN(at)) return own || t('away');
    // Within the hour, in minutes (Intl.RelativeTimeFormat: "in 25 minutes", "in 25 Minuten"), said
    // again every half minute; a weekday alone names the coming week only; past it the date says which.
    const minutes = Math.ceil((at - Date.now()) / 60000);
    if (minutes > 0 && minutes <= 60) {
      awayTick = setTimeout(renderHours, 30000);
      const when = new Intl.RelativeTimeFormat(fmtLocale(), { numeric: 'always' }).format(minutes, 'minute');
      return own ? own + ' ' + t('answer_soon', { when }) : t('away_soon', { when });
    }
    const o = { weekday: 'long', hour: '2-digit', minute: '2-digit' };
    if (at - Date.now() > 6 * DAY) { o.day = 'numeric'; o.month = 'long'; }
    const when = new Intl.DateTimeFormat(fmtLocale(), o).format(at);
    return own ? own + ' ' + t('answer_until', { when }) : t('away_until', { when });
  }

  // renderHours shows the away notice, a status announced once: its text is set only when it changes.
  // The message box names it as its description, so a screen reader meets it when the panel opens.
  let awayTick = 0;
  function renderHours() {
    clearTimeout(awayTick);
    const text = outOfHours() && !state.switching ? awayText() : '';
    if (!ui.away && !text) return;
    // Made only for a workspace that is away: the widget's other status stays the only one elsewhere.
    if (!ui.away) ui.panel.insertBefore(ui.away = h('p', { class: 'notice away', id: 'parley-away', role: 'status' }), ui.body);
    if (ui.away.textContent !== text) ui.away.textContent = text;
    const input = ui.footer.querySelector('.input');
    if (input && text) input.setAttribute('aria-describedby', 'parley-away');
    else if (input) input.removeAttribute('aria-describedby');
  }

  // scheduleHours reads the config again when the moment it holds (the opening, or the closing) has
  // passed, a little after so the server agrees. A moment already past by this device's clock means the
  // clocks disagree: ask every minute until the server's answer moves on. Timers hold at most 24.8 days.
  function scheduleHours() {
    clearTimeout(hoursTimer);
    const o = hoursCfg();
    if (!o.enabled) return;
    const at = Date.parse(o.open ? o.closes_at : o.next_open);
    const wait = isNaN(at) ? DAY : at > Date.now() ? Math.min(at - Date.now() + 1000 + Math.random() * 4000, 24 * DAY) : 60000;
    hoursTimer = setTimeout(rereadConfig, wait);
  }

  async function rereadConfig() {
    const token = state.token;
    const gen = state.generation;
    if (inFlight) { hoursTimer = setTimeout(rereadConfig, 60000); return; }
    try {
      const data = token ? await call('GET', '/v1/widget/session')
        : await call('GET', '/v1/widget/config?workspace=' + encodeURIComponent(workspace), undefined, null, 'no-cache');
      if (token !== state.token || gen !== state.generation) return;
      setConfig(data.config);
      render();
    } catch (e) {
      if (e.code === 'session_invalid') sessionRefused(token);
      else if (token === state.token) hoursTimer = setTimeout(rereadConfig, 60000);
    }
  }

  // ---------------------------------------------------------------- transcripts

  // Any visitor can download their latest conversation as text; a verified customer can have it mailed
  // to the address their sign-in proved (the server decides the address and says which).
  const MAIL_REFUSED = {
    email_unavailable: 'mail_unavailable',
    no_verified_email: 'mail_no_address',
    rate_limited: 'mail_wait',
  };

  function tools() {
    ui.mailBtn = h('button', { type: 'button', class: 'link', text: tr('mail_me'), onclick: mailTranscript });
    ui.toolsNote = h('p', { class: 'tools-note', 'aria-live': 'polite' });
    ui.tools = h('div', { class: 'tools', hidden: true },
      h('button', { type: 'button', class: 'link', text: tr('download'), onclick: download }), ui.mailBtn, ui.toolsNote);
    return ui.tools;
  }

  function latestConv() {
    let best = null;
    for (const c of state.convs.values()) if (c.msgs.length && (!best || c.created_at > best.created_at)) best = c;
    return best;
  }

  function renderTools() {
    if (!ui.tools) return;
    ui.tools.hidden = !!state.switching || !latestConv();
    ui.mailBtn.hidden = state.identity.level !== 'verified';
  }

  const transcriptPath = (c) => '/v1/widget/conversations/' + encodeURIComponent(c.id) + '/transcript';
  // The transcript, downloaded or emailed, is written in the language the widget speaks.
  const inLocale = (path) => path + '?locale=' + encodeURIComponent(state.locale);

  // download fetches the text with the session's header (no token in a URL) and saves it from a blob.
  async function download() {
    const c = latestConv();
    if (!c) return;
    const token = state.token;
    ui.toolsNote.textContent = '';
    try {
      const res = await fetch(base + inLocale(transcriptPath(c)), { headers: { Authorization: 'Bearer ' + token }, credentials: 'omit', cache: 'no-store' });
      if (!res.ok) {
        const e = ((await res.json().catch(() => null)) || {}).error || {};
        throw new ParleyError(res.status, e.code || 'http_' + res.status, e.message || '');
      }
      const b = await res.blob();
      if (token !== state.token) return; // someone else is behind the widget now
      const url = URL.createObjectURL(b);
      h('a', { href: url, download: 'conversation.txt' }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) {
      if (token !== state.token) return;
      ui.toolsNote.textContent = t('download_failed') + (e.code === 'network_error' || e instanceof TypeError ? ' ' + t('err_offline') : '');
      if (e.code === 'session_invalid') sessionRefused(token);
    }
  }

  async function mailTranscript() {
    const c = latestConv();
    if (!c) return;
    const gen = state.generation;
    ui.toolsNote.textContent = '';
    let text;
    try {
      const { email } = await call('POST', inLocale(transcriptPath(c) + '/email'));
      text = t('mail_sent', { email });
    } catch (e) {
      text = MAIL_REFUSED[e.code] ? t(MAIL_REFUSED[e.code]) : friendly(e);
      if (e.code === 'session_invalid') sessionRefused(e.token);
    }
    if (gen === state.generation) ui.toolsNote.textContent = text;
  }

  // ---------------------------------------------------------------- typing, seen and read

  // Typing travels on the socket as start/stop, never the text: "start" at most every 2 s while the
  // customer types, "stop" after 5 s without a key or when the message is sent. An indicator nobody
  // refreshes goes out after 6 s, so a lost "stop" cannot leave it on. Seen: while the panel is open and
  // the page visible, the newest agent message of each conversation is reported, once. Read: agents read
  // the customer's message up to the one the server names.
  const TYPING_REFRESH = 2000;
  const TYPING_IDLE = 5000;
  const TYPING_EXPIRY = 6000;
  const typing = { sentAt: 0, conv: '', idleTimer: 0, shownTimer: 0, reported: {}, seenTimer: 0, read: {} };

  function typingIndicator() {
    ui.typing = h('div', { class: 'typing', hidden: true, 'aria-hidden': 'true' },
      h('span', { class: 'dot' }), h('span', { class: 'dot' }), h('span', { class: 'dot' }));
    // Announced once per burst: the text is set when the dots appear and cleared when they go. A live
    // region, not a second status: the widget's status is its connection's (docs/widget.md).
    ui.typingNote = h('p', { class: 'sr-only typing-note', 'aria-live': 'polite' });
    return h('div', { class: 'typing-box' }, ui.typing, ui.typingNote);
  }

  function socketSend(frame) {
    if (!state.ws || state.ws.readyState !== 1 || state.switching) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  // The conversation the customer is typing into: their newest open one (none before the first message).
  function typingConversation() {
    let best = null;
    for (const c of state.convs.values()) if (c.status === 'open' && (!best || c.created_at > best.created_at)) best = c;
    return best ? best.id : '';
  }

  function typingKey() {
    const id = typingConversation();
    if (!id) return;
    const now = Date.now();
    if (id !== typing.conv || now - typing.sentAt >= TYPING_REFRESH) {
      if (typing.conv && typing.conv !== id) typingStop();
      if (socketSend({ type: 'typing', conversation_id: id, state: 'start' })) { typing.conv = id; typing.sentAt = now; }
    }
    clearTimeout(typing.idleTimer);
    typing.idleTimer = setTimeout(typingStop, TYPING_IDLE);
  }

  function typingStop() {
    clearTimeout(typing.idleTimer);
    if (!typing.conv) return;
    socketSend({ type: 'typing', conversation_id: typing.conv, state: 'stop' });
    typing.conv = '';
    typing.sentAt = 0;
  }

  function agentTyping(on) {
    if (!ui.typing) return;
    clearTimeout(typing.shownTimer);
    if (on) typing.shownTimer = setTimeout(() => agentTyping(false), TYPING_EXPIRY);
    if (ui.typing.hidden === !on) return;
    ui.typing.hidden = !on;
    ui.typingNote.textContent = on ? t('agent_typing') : '';
    if (on && state.open) ui.body.scrollTop = ui.body.scrollHeight;
  }

  // reportSeen tells the server, shortly, the newest agent message of each conversation on screen.
  function reportSeen() {
    clearTimeout(typing.seenTimer);
    typing.seenTimer = setTimeout(() => {
      if (!state.open || state.switching || document.visibilityState !== 'visible') return;
      for (const c of state.convs.values()) {
        let last = '';
        for (let i = c.msgs.length - 1; i >= 0; i--) if (c.msgs[i].sender === 'agent') { last = c.msgs[i].id; break; }
        if (!last || (typing.reported[c.id] && typing.reported[c.id] >= last)) continue;
        const frame = { type: 'seen', conversation_id: c.id, message_id: last };
        if (!socketSend(frame)) {
          call('POST', '/v1/widget/conversations/' + encodeURIComponent(c.id) + '/seen', { message_id: last }).catch(() => { delete typing.reported[c.id]; });
        }
        typing.reported[c.id] = last;
      }
    }, 300);
  }

  // showRead puts "Read" under the customer's message that agents have read up to, in one conversation.
  function showRead(convId, messageId) {
    const prev = typing.read[convId];
    if (prev && prev >= messageId) return;
    const el = state.byId.get(convId + ' ' + messageId);
    if (!el) return; // not on screen (yet): the next sync names it again
    typing.read[convId] = messageId;
    for (const old of ui.log.querySelectorAll('.receipt')) if (old.parentNode.dataset.conversation === convId) old.remove();
    el.append(h('span', { class: 'receipt', text: tr('read') }));
  }

  // ---------------------------------------------------------------- live connection

  function connect() {
    if (state.ws || !state.token || !state.config || state.switching || !wantsLive()) return;
    clearTimeout(state.wsTimer);
    const ws = new WebSocket(base.replace(/^http/, 'ws') + '/v1/widget/ws');
    const token = state.token;
    state.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', session_token: token }));
    ws.onmessage = (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch (_) { return; }
      if (ws !== state.ws) return;
      if (f.type === 'ready') {
        state.wsAttempts = 0;
        ws.ready = true;
        if (f.session) noteSession(f);
        setStatus('');
        // Passive, the summary says what came before the subscription; active, the messages are loaded
        // (once, from here: the socket is up first so nothing falls between the two).
        if (state.active) sync().catch(() => { /* the next reconnect resumes */ });
        else setSummary(f.conversations);
        flush();
      } else if (f.type === 'message') {
        if (f.message && f.message.sender === 'agent') agentTyping(false);
        if (state.active) addMessage(f.message, true);
        else passiveMessage(f.message);
      } else if (f.type === 'conversation' && f.conversation) {
        if (state.active) conv(f.conversation.id, f.conversation.created_at).status = f.conversation.status;
        else {
          const c = state.summary.get(f.conversation.id);
          if (c) c.status = f.conversation.status;
          else state.summary.set(f.conversation.id, { id: f.conversation.id, status: f.conversation.status, tail: [] });
        }
        renderBadge();
        showHost();
      } else if (f.type === 'session_ended') {
        ws.endedReason = f.reason; // the 4401 close follows
      } else if (f.type === 'typing' && typeof f.conversation_id === 'string') {
        agentTyping(f.state === 'start');
      } else if (f.type === 'read' && typeof f.conversation_id === 'string' && typeof f.message_id === 'string') {
        showRead(f.conversation_id, f.message_id);
      }
    };
    ws.onclose = (ev) => {
      if (ws !== state.ws) return;
      state.ws = null;
      if (ev.code === 4403) { showError(t('err_origin')); return; }
      if (ev.code === 4401) { sessionRefused(token, ws.endedReason); return; }
      state.wsAttempts++;
      if (state.wsAttempts > 1) setStatus(t('reconnecting'));
      const delay = Math.min(30000, 500 * 2 ** Math.min(state.wsAttempts, 6)) * (0.75 + Math.random() / 2);
      state.wsTimer = setTimeout(connect, state.wsAttempts === 1 ? 200 : delay);
    };
  }

  function reconnect() {
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close(1000);
    connect();
  }

  // sessionRefused runs when the server refused token (a socket closed with 4401, a call answered
  // session_invalid). That alone does not mean the person is gone: our own login or identify may have
  // rotated the token a moment before its answer arrived, or another tab may have. So wait for identity
  // changes in flight, then follow the newer token, and only if there is none ask the server.
  // reason is the socket's session_ended reason: after "rotated" or "logged_out" another tab is about
  // to store its new token (storage reaches other tabs asynchronously), so give it a moment.
  async function sessionRefused(token, reason) {
    await idle();
    if (state.token !== token) { if (!state.ws) connect(); return; }
    const wait = reason === 'rotated' || reason === 'logged_out' ? 3000 : 0;
    const stored = await storedTokenOtherThan(token, wait);
    if (state.token !== token) return; // the storage event got there first
    if (stored) { adopt(stored); return; }
    try {
      await call('GET', '/v1/widget/session');
      if (!state.ws) connect();
    } catch (e) {
      if (state.token !== token) return;
      if (e.code === 'session_invalid') sessionLost(token);
      else setTimeout(() => sessionRefused(token), 2000);
    }
  }

  // storedTokenOtherThan resolves with the token stored in place of old within ms, or null.
  function storedTokenOtherThan(old, ms) {
    const deadline = Date.now() + ms;
    return new Promise((resolve) => {
      const check = () => {
        const t = storage.get(TOKEN);
        if (t && t !== old) resolve(t);
        else if (Date.now() >= deadline) resolve(null);
        else setTimeout(check, 100);
      };
      check();
    });
  }

  // Identity changes (login, identify, logout) are serialized, and sessionRefused waits for them.
  // A change that may bring someone else (switches) clears the screen the moment it is asked for, and
  // until the last such change has its answer nothing of anybody shows, nothing is sent and the live
  // connection stays closed: the page asked for a person, and the previous one must not stand in.
  let changing = Promise.resolve();
  let inFlight = 0;
  let begun = false; // the stored session has been resumed
  const waiting = [];
  function changeIdentity(fn, switches) {
    inFlight++;
    let done = () => {};
    if (switches) {
      state.switching++;
      let pending = true;
      // done ends this change's hold on the screen: called once its answer says who is there.
      done = () => { if (pending) { pending = false; state.switching--; } };
      clearScreen();
    }
    const run = changing.then(() => fn(done, switches)).finally(() => {
      done();
      if (--inFlight === 0) settle();
    });
    changing = run.catch(() => {});
    return run;
  }
  const idle = () => (inFlight ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve());

  // mayBeSomeoneElse tells whether a change asked for now may put another person behind the widget:
  // before the stored session is known, or after another change, nobody can tell who is there.
  const mayBeSomeoneElse = () => (begun ? inFlight > 0 || state.identity.level !== 'anonymous' : !!state.token);

  function clearScreen() {
    state.generation++;
    if (state.blocked) { state.blocked = false; setStatus(''); }
    resetMessages(state.switching > 1); // messages held by an earlier change wait for this one too
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close(1000);
    render();
  }

  // settle runs when no identity change is left: show who is there, connect, send what was held.
  function settle() {
    render();
    connect();
    flush();
    waiting.splice(0).forEach((resolve) => resolve());
  }

  // refused handles a login or setUser the server refused. The messages typed while it was pending were
  // meant for the person the page asked for, so they are never sent under the session that stayed. And
  // when the change may have been for someone else, a stored session that is somebody's (identified or
  // verified) may be the previous person's: end it rather than show it to whoever is at the keyboard.
  async function refused(switched) {
    dropHeld();
    if (switched && state.identity.level !== 'anonymous') await endSession();
  }

  function dropHeld() {
    const held = state.pending.filter((p) => p.held);
    if (!held.length) return;
    state.pending = state.pending.filter((p) => !p.held);
    for (const p of held) { p.dropped = true; notSent(p); }
    showError(t('login_failed_held'));
  }

  // endSession revokes the current session and continues on a fresh anonymous one (whose token is
  // stored once, at the end, so other tabs see one change). It resolves with the server's refusal, if any.
  async function endSession() {
    const old = state.token;
    state.generation++;
    state.token = null;
    state.identity = { level: 'anonymous' };
    forgetSeen();
    dropBlobs();
    clearFiles();
    state.summary.clear();
    if (!old) { wipe(); return null; } // nobody's session to end: the visitor stays without one
    let failure = null;
    try {
      const data = await call('POST', '/v1/widget/logout', undefined, old);
      state.token = data.session_token;
      state.identity = data.identity;
      state.config = state.config || data.config;
      noteSession(data);
    } catch (e) {
      failure = e;
      try { await newSession(); } catch (_) { /* settle shows what there is */ }
    }
    // Without a new session the old token must still leave this browser.
    if (state.token) storage.set(TOKEN, state.token);
    else wipe();
    return failure;
  }

  // sessionLost handles a session the server no longer accepts (logged out elsewhere, revoked by the
  // business): forget everything of the previous person and continue anonymously. If another tab has
  // stored a newer token meanwhile, follow it instead of wiping it.
  async function sessionLost(refused) {
    const stored = storage.get(TOKEN);
    if (stored && stored !== refused) { adopt(stored); return; }
    const wasVerified = state.identity.level === 'verified';
    forget();
    try {
      // A passive widget goes on without a session until the visitor interacts.
      if (state.active) await newSession();
      render();
      reconnect();
    } catch (e) {
      showError(friendly(e));
    }
    if (wasVerified) emit('logout');
    // An expired or refused session: the site's token provider, if any, may sign the customer back in.
    if (prov.fn && (state.token || !state.active)) providerStep();
  }

  // adopt takes over a token another tab stored, with the identity behind it.
  function adopt(token) {
    const before = state.identity;
    state.generation++;
    state.token = token;
    state.seen = readSeen();
    // Messages waiting to be sent stay when the stored session is the same verified customer's (another
    // tab renewed it through the token provider); anybody else's session gets none of them.
    const outbox = before.level === 'verified' ? state.pending.splice(0) : [];
    resetMessages();
    ensureSession().then(() => {
      if (outbox.length && state.identity.level === 'verified' && state.identity.customer_id === before.customer_id) {
        state.pending = outbox.concat(state.pending);
        ui.log.append(...state.pending.map((p) => p.el));
        flush();
      } else for (const p of outbox) p.dropped = true;
      // Another tab of the site signed someone in or out after this page said who was signed in: that
      // tab knows better, so this page's user no longer counts (the provider is asked if need be).
      const id = state.identity;
      if (prov.user !== undefined && (id.level === 'verified' ? !sameUser(prov.user, id) : prov.user !== null)) {
        prov.user = undefined;
        prov.checked = true;
      }
      render();
      reconnect();
      const now = state.identity;
      if (before.level === 'verified' && (now.level !== 'verified' || now.customer_id !== before.customer_id)) emit('logout');
      if (now.level === 'verified' && now.customer_id !== before.customer_id) emit('login', now);
      return state.active ? sync() : undefined;
    }).catch((e) => showError(friendly(e)));
  }

  // forget wipes every trace of the current person from the page and from storage.
  function forget() {
    state.generation++;
    wipe();
    state.token = null;
    state.identity = { level: 'anonymous' };
    state.summary.clear();
    resetMessages();
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close(1000);
  }

  // ---------------------------------------------------------------- public API

  async function identify(claims, done = () => {}) {
    await ensureToken(); // setUser is an interaction: it starts the session
    const data = await call('POST', '/v1/widget/identify', claims);
    const changed = !!data.session_token && data.session_token !== state.token;
    if (changed) setToken(data.session_token);
    state.identity = data.identity;
    noteSession(data);
    done();
    render();
    if (changed) reconnect();
    return data.identity;
  }

  const sameEmail = (a, b) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

  function setUser(user) {
    const email = user && typeof user.email === 'string' ? user.email.trim() : '';
    const other = begun ? inFlight > 0 || (state.identity.level !== 'anonymous' && !!email && !sameEmail(email, state.identity.email)) : !!state.token;
    return changeIdentity((done, switched) => doSetUser(user, done, switched), other);
  }
  async function doSetUser(user, done, switched) {
    await started;
    const claims = {};
    for (const k of ['name', 'email', 'phone']) if (user && typeof user[k] === 'string' && user[k].trim()) claims[k] = user[k].trim();
    // Claimed attributes go as given: the server checks them (422 invalid_field), never trusts them.
    if (user && user.attributes !== undefined) claims.attributes = user.attributes;
    try {
      return await identifyAs(claims, done);
    } catch (e) {
      await refused(switched);
      throw e;
    }
  }
  async function identifyAs(claims, done) {
    if (!Object.keys(claims).length) throw new ParleyError(0, 'invalid_field', 'setUser needs a name, an email, a phone number or attributes');
    if (state.identity.level === 'verified') {
      // A claim never changes a verified visitor, unless the page says someone else is here: then the
      // verified session ends first, so the new person's claim never sees the previous one's chats.
      if (!claims.email || sameEmail(claims.email, state.identity.email)) return state.identity;
      await endSession();
    }
    const before = state.token;
    const id = await identify(claims, done);
    if (state.token !== before) {
      // A new token: either the level changed (same conversations) or a different person took over
      // (none of the previous one's). Reload what this session may see.
      state.generation++;
      resetMessages(true);
      await sync().catch(() => { /* the live connection's ready syncs again */ });
    }
    return id;
  }

  function login(token) { return changeIdentity((done, switched) => doLogin(token, done, switched), mayBeSomeoneElse()); }
  async function doLogin(token, done, switched, singleUse) {
    await started;
    const prev = state.identity;
    let data;
    try {
      if (typeof token !== 'string' || !token) throw new ParleyError(0, 'token_malformed', 'login needs the token your back end signed');
      await ensureToken();
      data = await call('POST', '/v1/widget/login', singleUse ? { token, single_use: true } : { token });
    } catch (e) {
      await refused(switched);
      throw e;
    }
    return loggedIn(prev, data, done);
  }
  // loggedIn shows the session a login answered with (data), prev being who was there before.
  async function loggedIn(prev, data, done) {
    const samePerson = prev.level !== 'verified' || prev.customer_id === data.identity.customer_id;
    state.generation++;
    setToken(data.session_token);
    state.identity = data.identity;
    noteSession(data);
    noteLocale(data);
    if (!samePerson) forgetSeen();
    done();
    // Messages still waiting are this person's: held while the login was on its way, or typed before it
    // by the same person.
    resetMessages(true);
    render();
    reconnect();
    await sync();
    emit('login', state.identity);
    return state.identity;
  }

  // logout clears the screen at once (changeIdentity), then asks the server.
  function logout() { return changeIdentity(doLogout, true); }
  async function doLogout() {
    await started;
    const failure = await endSession();
    emit('logout');
    if (failure && failure.code !== 'session_invalid') { emit('error', failure); throw failure; }
  }

  function on(event, fn) {
    if (!state.listeners[event]) throw new ParleyError(0, 'invalid_event', 'unknown event ' + event);
    if (typeof fn === 'function') state.listeners[event].push(fn);
    if (event === 'ready' && state.ready) fn(state.identity);
  }

  // ---------------------------------------------------------------- token provider

  // The site's token provider (setTokenProvider): the widget asks it for a login token only when it needs
  // one, and user says who is signed in on the site (the token's sub; null: nobody; undefined: unknown).
  const prov = { fn: null, user: undefined, nobody: false, checked: false, failures: 0, notBefore: 0, retryTimer: 0, refreshTimer: 0 };
  const PROVIDER_TIMEOUT = 5000;

  function setTokenProvider(fn, options) {
    if (fn !== null && typeof fn !== 'function') {
      return Promise.reject(new ParleyError(0, 'invalid_field', 'setTokenProvider needs a function that resolves with a login token or null'));
    }
    const given = options && typeof options === 'object' && options.user !== undefined;
    const user = !given ? undefined : options.user === null ? null : String(options.user);
    if (user !== prov.user) {
      // Someone else on the site: what the provider said (or failed to say) about the last one is moot.
      prov.nobody = false;
      prov.checked = false;
      prov.failures = 0;
      prov.notBefore = 0;
      clearTimeout(prov.retryTimer);
    }
    prov.fn = fn;
    prov.user = user;
    if (!fn) {
      clearTimeout(prov.retryTimer);
      clearTimeout(prov.refreshTimer);
      return started.then(() => state.identity);
    }
    scheduleRefresh();
    return providerStep();
  }

  // sameUser tells whether the site's user id names the verified identity: its external id (the token's
  // sub), or its email for tokens without a sub.
  const sameUser = (user, id) => (id.external_id ? user === id.external_id : sameEmail(user, id.email));

  // providerNeed says what the widget needs from the provider now: '' nothing; 'logout' (the site says
  // nobody is signed in, no token needed); 'switch' (someone other than the verified customer is);
  // 'check' (who is signed in is unknown: ask once per page); 'login' (no verified session); 'refresh'
  // (the verified session's absolute lifetime is about to run out).
  function providerNeed() {
    if (!prov.fn) return '';
    const id = state.identity;
    if (id.level !== 'verified') return prov.user === null || prov.nobody ? '' : 'login';
    if (prov.user === null) return 'logout';
    if (prov.user === undefined && !prov.checked) return 'check';
    if (prov.user !== undefined && !sameUser(prov.user, id)) return 'switch';
    return refreshDue() ? 'refresh' : '';
  }

  // providerStep runs what providerNeed asks for as an identity change: serialized with the page's own
  // calls, ready waits for it, and when it may bring someone else the screen is cleared at once.
  function providerStep() {
    const need = providerNeed();
    const switches = begun ? inFlight > 0 || need === 'logout' || need === 'switch' || need === 'check' || (need === 'login' && state.identity.level !== 'anonymous') : !!state.token;
    if (!need && !switches && !inFlight) return started.then(() => state.identity);
    return changeIdentity((done, switched) => runProvider(done, switched), switches).catch(() => state.identity);
  }

  async function runProvider(done, switched) {
    await started;
    const need = begun ? providerNeed() : '';
    if (!need) return state.identity;
    if (need === 'logout') return providerLogout();
    if (need === 'refresh') {
      // The person behind the session is the site's user: show them while the token is on its way.
      done();
      render();
      const stored = storage.get(TOKEN);
      if (stored && stored !== state.token) { adopt(stored); return state.identity; } // another tab renewed it
    }
    if (Date.now() < prov.notBefore) {
      // Backing off after a failure: the retry timer asks again. Someone else must not stay meanwhile.
      if (need === 'switch') return providerLogout();
      return state.identity;
    }
    const prev = state.identity;
    let token;
    try {
      token = await askProvider();
    } catch (e) {
      return providerFailed(e, need);
    }
    if (token === null) {
      if (need !== 'login') return providerLogout(); // the site says nobody is signed in
      prov.nobody = true;
      prov.failures = 0;
      return state.identity;
    }
    if (need === 'check') {
      prov.checked = true;
      if (sameUser(tokenSubject(token), prev) && !refreshDue()) { prov.failures = 0; return state.identity; }
    }
    // The provider's token is an interaction: a visitor without a session gets one to log in with.
    try {
      await ensureToken();
    } catch (e) {
      return providerFailed(e, need);
    }
    const old = state.token;
    let data;
    try {
      data = await call('POST', '/v1/widget/login', { token });
    } catch (e) {
      if (e.code === 'session_invalid' && state.token === old) {
        // The session itself ended meanwhile (expired, or another tab renewed it): sessionRefused follows
        // the newer token or starts afresh, and asks the provider again if it must.
        sessionRefused(old);
        return state.identity;
      }
      return providerFailed(e, need);
    }
    prov.failures = 0;
    prov.notBefore = 0;
    if (prev.level === 'verified' && data.identity.customer_id === prev.customer_id) {
      // The same customer: the session goes on under its new token, the screen and the outbox as they are.
      setToken(data.session_token);
      state.identity = data.identity;
      noteSession(data);
      noteLocale(data);
      done();
      render();
      reconnect();
      sync().catch(() => { /* the live connection's ready syncs again */ });
      return state.identity;
    }
    if (prev.level === 'verified' && !switched) {
      // A token for someone else where the same customer was expected: nothing of theirs carries over.
      state.generation++;
      resetMessages();
    }
    return loggedIn(prev, data, done);
  }

  // askProvider calls the provider, for at most PROVIDER_TIMEOUT ms; it resolves with a token or null.
  function askProvider() {
    let timer = 0;
    const late = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new ParleyError(0, 'token_provider_failed', 'The token provider did not answer within ' + PROVIDER_TIMEOUT / 1000 + ' seconds.')), PROVIDER_TIMEOUT);
    });
    const asked = Promise.resolve().then(() => prov.fn()).then((t) => {
      if (t === null) return null;
      if (typeof t !== 'string' || !t) throw new ParleyError(0, 'token_provider_failed', 'The token provider must resolve with a login token (a string) or null.');
      return t;
    }, (e) => {
      throw new ParleyError(0, 'token_provider_failed', 'The token provider failed: ' + (e && e.message ? e.message : String(e)));
    });
    return Promise.race([asked, late]).finally(() => clearTimeout(timer));
  }

  // providerFailed handles a provider that threw, timed out or gave a token the server refused: the
  // widget goes on with what it has (never someone else's session), reports it, and asks again later,
  // backing off up to five minutes.
  async function providerFailed(e, need) {
    prov.failures++;
    const wait = Math.min(300000, 2000 * 2 ** (prov.failures - 1)) * (0.8 + Math.random() * 0.4);
    prov.notBefore = Date.now() + wait;
    clearTimeout(prov.retryTimer);
    // The retry lifts the backoff itself (a timer may fire a moment before Date.now() says it is due).
    prov.retryTimer = setTimeout(() => { prov.notBefore = 0; providerStep(); }, wait);
    // The site's user is someone else than the session's person (or may be: an identified session is a
    // claim anyone could have made): end it rather than keep it for whoever is at the keyboard.
    if (need === 'switch' || (need === 'login' && state.identity.level !== 'anonymous')) await providerLogout();
    emit('error', e);
    return state.identity;
  }

  async function providerLogout() {
    const was = state.identity.level === 'verified';
    await endSession();
    if (was) emit('logout');
    return state.identity;
  }

  // tokenSubject reads who a login token names (sub, else email) without trusting it: it only spares a
  // login when the session already is that customer's; the server verifies every token it is given.
  function tokenSubject(token) {
    try {
      const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
      return typeof claims.sub === 'string' && claims.sub ? claims.sub : typeof claims.email === 'string' ? claims.email : '';
    } catch (_) { return ''; }
  }

  // noteSession keeps when a verified session's absolute lifetime ends (session.expires_at of a response;
  // "" for other sessions), and schedules its renewal.
  function noteSession(data) {
    const end = data && data.session && data.session.expires_at ? Date.parse(data.session.expires_at) : NaN;
    if (isNaN(end)) state.session = null;
    else if (!state.session || state.session.end !== end) state.session = { end, seen: Date.now(), jitter: Math.random() };
    scheduleRefresh();
  }

  // refreshAt is when to renew the verified session: within 10% of its lifetime (as far as this page has
  // seen it) or 5 minutes of its end, whichever is less, a little earlier in some tabs than in others.
  function refreshAt() {
    const s = state.session;
    if (!s || state.identity.level !== 'verified') return 0;
    return s.end - Math.min(300000, (s.end - s.seen) / 10) * (1 + s.jitter / 5);
  }
  const refreshDue = () => { const at = refreshAt(); return at > 0 && Date.now() >= at; };

  function scheduleRefresh() {
    clearTimeout(prov.refreshTimer);
    const at = refreshAt();
    if (!prov.fn || !at) return;
    // Long waits are checked again every few hours (timers do not wait for weeks, and sleep delays them).
    const wait = Math.min(Math.max(0, at - Date.now()), 6 * 3600000);
    prov.refreshTimer = setTimeout(() => (refreshDue() ? providerStep() : scheduleRefresh()), wait);
  }

  // ---------------------------------------------------------------- chat page

  // takeFragmentToken takes the login token out of a #token=… fragment and out of the address bar (and so
  // out of the history entry, bookmarks and anything that reads location later); '' when there is none.
  // Browsers never send a fragment to a server, so the token reaches no log.
  function takeFragmentToken() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (!params.has('token')) return '';
    const clean = location.pathname + location.search;
    try { history.replaceState(history.state, '', clean); } catch (_) { location.replace(clean + '#'); }
    return params.get('token');
  }

  // Plain words for a link that did not sign the visitor in; the page goes on as it was, or anonymous.
  const LINK_REFUSED = {
    token_replayed: 'link_used',
    token_expired: 'link_expired',
    network_error: 'link_network',
  };

  // pageLogin signs in with a token from the chat page's link. The server accepts it once (single_use:
  // a token without a jti is refused). A refusal never shows the server's message, only plain words.
  function pageLogin(token) {
    const change = changeIdentity((done, switched) => doLogin(token, done, switched, true), mayBeSomeoneElse());
    return change.then((id) => { ui.notice.textContent = ''; return id; }, (e) => {
      ui.notice.textContent = t(LINK_REFUSED[e.code] || 'link_failed') + ' ' + t('link_again');
      emit('error', e);
    });
  }

  // A WebView may open the page again with a new fragment, which does not reload it.
  if (pageMode) {
    addEventListener('hashchange', () => {
      const token = takeFragmentToken();
      if (token) pageLogin(token);
    });
  }

  // fitViewport sizes the page to what is visible of it: above the on-screen keyboard, which covers part
  // of the layout viewport in some browsers (iOS) instead of shrinking it.
  function fitViewport() {
    const vv = window.visualViewport;
    if (!vv) return;
    const fit = () => {
      host.style.setProperty('--parley-vh', vv.height + 'px');
      host.style.setProperty('--parley-top', vv.offsetTop + 'px');
    };
    vv.addEventListener('resize', fit);
    vv.addEventListener('scroll', fit);
    fit();
  }

  // ---------------------------------------------------------------- start

  let resolveStarted;
  const started = new Promise((resolve) => { resolveStarted = resolve; });

  async function start() {
    build();
    (document.body || document.documentElement).append(host);
    // The language the page or the browser asks for loads while the session resumes; the workspace's
    // default and a verified visitor's claim are known once it has.
    applyLocale();
    try {
      await ensureSession();
      await applyLocale();
    } catch (e) {
      host.setAttribute('data-hidden', '');
      console.error('Parley: ' + e.message);
      emit('error', e);
      resolveStarted();
      return;
    }
    begun = true;
    resolveStarted();
    // The calls queued before the script loaded have been made by now: if one of them may bring someone
    // else, the stored session's person is neither shown nor announced; either way the change connects.
    render();
    if (!inFlight) {
      // The chat page is a chat from the start; a widget stays passive: no messages loaded, a socket
      // only for an open conversation (wantsLive).
      if (pageMode) {
        state.active = true;
        try { await sync(); } catch (e) { if (e.code === 'session_invalid') sessionRefused(e.token); }
      }
      connect();
    }
    await idle();
    state.ready = true;
    emit('ready', state.identity);
  }

  addEventListener('online', () => { if (!state.ws) connect(); flush(); });
  // Timers sleep with the device: a page shown again renews a session that is about to run out.
  document.addEventListener('visibilitychange', () => { if (begun && document.visibilityState === 'visible' && refreshDue()) providerStep(); });
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') markSeen(); else typingStop(); });
  // A page shown again may have slept past the moment the workspace opens or closes.
  document.addEventListener('visibilitychange', () => { if (begun && document.visibilityState === 'visible' && hoursCfg().enabled) rereadConfig(); });
  addEventListener('storage', (ev) => {
    // The chat page's session is its tab's own: a widget on a page of the same origin is someone else's.
    if (pageMode || ev.key !== prefix + TOKEN || ev.newValue === state.token) return;
    // Another tab logged in or out: follow it, so no tab keeps showing the previous person's chats.
    if (!ev.newValue) {
      // Only our own token's removal concerns us (another tab lost the session we share).
      if (ev.oldValue !== state.token) return;
      forget();
      if (state.active) newSession().then(() => { render(); reconnect(); }).catch(() => {});
      else render();
      return;
    }
    adopt(ev.newValue);
  });

  const api = {
    loaded: true,
    setUser, clearUser: logout, login, logout, on, setTokenProvider, setLocale,
    get locale() { return state.locale; },
    // A widget hidden until login opens once the login the page asked for is through.
    open: () => started.then(async () => { if (!visible() && inFlight) await idle(); open(); }),
    close: () => started.then(() => close()),
  };
  const queued = (window.Parley && Array.isArray(window.Parley.q)) ? window.Parley.q : [];
  window.Parley = api;

  const begin = () => {
    start();
    if (pageToken) pageLogin(pageToken);
    // Calls made before the script loaded run now, in order; stubs that returned a promise get its result.
    for (const entry of queued) {
      const [name, args, resolve, reject] = entry;
      const fn = api[name];
      // args is the stub's arguments object (or an array); a lone value pushed by hand is one argument.
      const list = args && typeof args === 'object' && typeof args.length === 'number' ? Array.from(args) : args === undefined ? [] : [args];
      const p = fn ? Promise.resolve().then(() => fn(...list)) : Promise.reject(new ParleyError(0, 'invalid_call', 'Parley has no ' + name));
      p.then((v) => resolve && resolve(v), (e) => { if (reject) reject(e); else emit('error', e); });
    }
  };
  if (document.body) begin();
  else document.addEventListener('DOMContentLoaded', begin, { once: true });
})();
