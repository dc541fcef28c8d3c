// Widget appearance page: the preview follows the fields as the admin types, so a colour can be judged
// before it is saved. Without this script the preview shows the saved look. The server decides what is
// accepted (package chat); the contrast shown here is the same WCAG formula, for a warning only.
(() => {
  'use strict';
  const form = document.querySelector('[data-appearance-form]');
  const svg = document.querySelector('[data-preview]');
  if (!form || !svg) return;
  const WIDTH = 360, PANEL = 220, INSET = 16;
  const WHITE = '#ffffff', NEAR_BLACK = '#111827';
  const THEMES = {
    light: { panel: '#ffffff', ink: '#111827', muted: '#4b5563', line: '#d1d5db' },
    dark: { panel: '#111827', ink: '#f9fafb', muted: '#9ca3af', line: '#374151' },
  };
  const systemDark = window.matchMedia('(prefers-color-scheme: dark)');
  const summary = document.querySelector('[data-preview-summary]');
  const warning = document.querySelector('[data-preview-warning]');
  const all = (sel) => svg.querySelectorAll(sel);

  const luminance = (hex) => {
    const lin = (i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * lin(1) + 0.7152 * lin(3) + 0.0722 * lin(5);
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };

  let brand = svg.querySelector('[data-preview-brand]').getAttribute('fill');
  function update() {
    const typed = form.elements.brand_color.value.trim();
    let note = '';
    if (/^#[0-9a-fA-F]{6}$/.test(typed)) {
      brand = typed.toLowerCase();
    } else if (typed) {
      note = 'Write the brand colour as # and six hex digits to see it here.';
    }
    const onWhite = contrast(brand, WHITE), onDark = contrast(brand, NEAR_BLACK);
    const text = onWhite >= onDark ? WHITE : NEAR_BLACK;
    const ratio = Math.max(onWhite, onDark);
    if (!note && ratio < 4.5) {
      note = 'Too little contrast: even ' + (text === WHITE ? 'white' : 'near-black') + ' text reaches only ' +
        (Math.floor(ratio * 100) / 100).toFixed(2) + ':1 on this colour, and text needs 4.5:1. It would be refused.';
    }
    const themeChoice = form.elements.theme.value || 'light';
    const dark = themeChoice === 'dark' || (themeChoice === 'auto' && systemDark.matches);
    const t = dark ? THEMES.dark : THEMES.light;
    const left = form.elements.position.value === 'left';
    const label = form.elements.launcher_label.value.trim().slice(0, 40);
    const logo = form.elements.logo_url.value.trim().startsWith('https://');

    for (const el of all('[data-preview-brand]')) el.setAttribute('fill', brand);
    for (const el of all('[data-preview-on-brand]')) el.setAttribute('fill', text);
    svg.querySelector('[data-preview-logo]').setAttribute('stroke', text);
    svg.querySelector('[data-preview-logo]').setAttribute('visibility', logo ? 'visible' : 'hidden');
    svg.querySelector('[data-preview-title]').setAttribute('x', logo ? '40' : '14');
    const bg = svg.querySelector('[data-preview-panel-bg]');
    bg.setAttribute('fill', t.panel);
    bg.setAttribute('stroke', t.line);
    svg.querySelector('[data-preview-ink]').setAttribute('fill', t.ink);
    svg.querySelector('[data-preview-field]').setAttribute('stroke', t.muted);

    const width = label ? Math.min(56 + 7 * [...label].length, WIDTH - 2 * INSET) : 48;
    const x = left ? INSET : WIDTH - INSET - width;
    svg.querySelector('[data-preview-panel]').setAttribute('transform', 'translate(' + (left ? INSET : WIDTH - INSET - PANEL) + ' 12)');
    const pill = svg.querySelector('[data-preview-launcher-bg]');
    pill.setAttribute('x', x);
    pill.setAttribute('width', width);
    svg.querySelector('[data-preview-icon]').setAttribute('x', x + 14);
    const labelEl = svg.querySelector('[data-preview-label]');
    labelEl.setAttribute('x', x + 42);
    labelEl.textContent = label;

    summary.textContent = (dark ? 'dark' : 'light') + ' theme' + (themeChoice === 'auto' ? ' (following this device)' : '') +
      ', launcher bottom ' + (left ? 'left' : 'right') + ', text on the brand colour in ' +
      (text === WHITE ? 'white' : 'near-black') + ' (' + ratio.toFixed(1) + ':1)';
    svg.dataset.brand = brand;
    svg.dataset.text = text;
    // Said once when it changes (a live region), not at every keystroke that leaves it the same.
    if (warning.textContent !== note) warning.textContent = note;
  }
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  systemDark.addEventListener('change', update);
})();
