// Small DOM helpers: no framework, no innerHTML with data (everything goes through textContent).
import { L, locale, term } from './i18n.js';
import { clearErrors, describeError, showErrors } from './errors.js';

/** h('div', {class: 'x', onclick: fn}, child, [children], 'text') */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'style') el.style.cssText = value; // CSSOM: allowed under the page's CSP, unlike a style attribute
    else if (key === 'value') el.value = value;
    else if (key === 'checked' || key === 'selected' || key === 'disabled' || key === 'hidden') el[key] = !!value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let uid = 0;
export function nextId(prefix = 'f') { uid += 1; return `${prefix}-${uid}`; }

/**
 * A labelled field with a slot for its error. `name` is the API's field name (data-field),
 * so an error naming it lands here.
 */
export function field({ name, label, control, hint, required, wide }) {
  const id = control.id || nextId('in');
  control.id = id;
  const errId = `${id}-err`;
  const hintId = hint ? `${id}-hint` : null;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  const isGroup = control.tagName === 'FIELDSET' || control.classList.contains('choices');
  return h('div', { class: `field${wide ? ' wide' : ''}`, dataset: { field: name } },
    isGroup ? h('span', { class: 'label', id: `${id}-label` }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null)
      : h('label', { for: id, class: 'label' }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errId, role: 'alert', hidden: true }));
}

export function input(attrs) { return h('input', { type: 'text', ...attrs }); }
export function textarea(attrs) { return h('textarea', { rows: 3, ...attrs }); }
export function select(options, attrs = {}) {
  return h('select', attrs, options.map((o) => (o.group
    ? h('optgroup', { label: o.group }, o.options.map((x) => h('option', { value: x.value, selected: x.value === attrs.value }, x.label)))
    : h('option', { value: o.value, selected: o.value === attrs.value }, o.label))));
}

/**
 * A form whose submit runs `action(form)`; errors from the API appear next to their fields.
 * `action` returns a promise; the button is disabled meanwhile.
 */
export function form({ children, submit, action, className, secondary }) {
  const button = h('button', { type: 'submit', class: 'primary' }, submit);
  const el = h('form', { class: `form ${className || ''}`, novalidate: true },
    h('div', { class: 'form-error', role: 'alert', hidden: true }),
    children,
    h('div', { class: 'form-actions' }, button, secondary || null));
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    clearErrors(el);
    button.disabled = true;
    el.setAttribute('aria-busy', 'true');
    try {
      await action(el);
    } catch (err) {
      if (err && 'status' in err) showErrors(el, err);
      else { showErrors(el, { status: -1, errors: {}, body: { message: String(err) } }); console.error(err); }
    } finally {
      button.disabled = false;
      el.removeAttribute('aria-busy');
    }
  });
  return el;
}

/** Values of the controls named `name` inside a form (checkbox groups give arrays). */
export function value(formEl, name) {
  const controls = [...formEl.querySelectorAll(`[name="${CSS.escape(name)}"]`)];
  if (!controls.length) return undefined;
  if (controls[0].type === 'checkbox' && controls.length > 1) return controls.filter((c) => c.checked).map((c) => c.value);
  if (controls[0].type === 'checkbox') return controls[0].checked;
  if (controls[0].type === 'radio') { const c = controls.find((x) => x.checked); return c ? c.value : undefined; }
  return controls[0].value;
}

/** URLs typed one per line (or separated by spaces). */
export function urlList(text) {
  return String(text || '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

// -- notices ----------------------------------------------------------------------------

export function toast(message, kind = 'ok') {
  let box = document.getElementById('toasts');
  if (!box) { box = h('div', { id: 'toasts', 'aria-live': 'polite' }); document.body.append(box); }
  const item = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 7000 : 3500);
}

export function errorBox(err) {
  return h('div', { class: 'notice error', role: 'alert', title: (err && err.body && err.body.message) || '' }, describeError(err));
}

export function empty(text) { return h('p', { class: 'empty' }, text); }

// -- formatting -------------------------------------------------------------------------

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(d);
}

export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short', day: 'numeric' }).format(d);
}

export function fmtDuration(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  if (minutes < 60) return L('{n} 分钟', '{n} min', { n: minutes });
  const hours = Math.round(minutes / 60);
  if (hours < 48) return L('{n} 小时', '{n} h', { n: hours });
  return L('{n} 天', '{n} days', { n: Math.round(hours / 24) });
}

export function yuan(points, rate = 1) {
  return new Intl.NumberFormat(locale(), { style: 'currency', currency: 'CNY' }).format(points * rate);
}

export function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, term('status', status));
}

/** "需在 5月3日 14:00 前认领 · 剩余 3 小时", red when overdue. */
export function deadlineNote(p) {
  if (!p.due_at || !p.deadline) return null;
  const left = new Date(p.due_at).getTime() - Date.now();
  const overdue = p.overdue || left < 0;
  const what = term('deadline', p.deadline);
  return h('span', { class: `deadline${overdue ? ' overdue' : left < 6 * 3600e3 ? ' soon' : ''}` },
    overdue
      ? L('{w}已超时 {d}', '{w} overdue by {d}', { w: what, d: fmtDuration(left) })
      : L('{w}期限 {t}（剩 {d}）', '{w} due {t} ({d} left)', { w: what, t: fmtTime(p.due_at), d: fmtDuration(left) }));
}

export function stars(n) {
  if (!n) return '';
  return '★'.repeat(n) + '☆'.repeat(5 - n);
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, L('正在加载…', 'Loading…'));
}

export function pageHeader(title, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', {}, title), extra.length ? h('div', { class: 'page-tools' }, extra) : null);
}

export function link(href, text, attrs = {}) { return h('a', { href, ...attrs }, text); }

export function photos(urls) {
  if (!urls || !urls.length) return null;
  return h('ul', { class: 'photos' }, urls.map((u) => h('li', {},
    h('a', { href: u, target: '_blank', rel: 'noopener noreferrer' },
      h('img', { src: u, alt: L('照片', 'Photo'), loading: 'lazy', referrerpolicy: 'no-referrer' })))));
}
