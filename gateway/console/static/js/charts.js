// Charts drawn with plain elements (bars are widths in per cent): readable on a phone, no library.
import { h } from './ui.js';

/** rows: [{label, value, note?, tone?}] -> horizontal bars scaled to the largest value. */
export function barChart(title, rows, { unit = '', format = (v) => String(v) } = {}) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return h('figure', { class: 'chart bars' },
    h('figcaption', {}, title),
    h('ul', { role: 'list' }, rows.map((r) => h('li', { class: r.tone ? `tone-${r.tone}` : null },
      h('span', { class: 'bar-label' }, r.label),
      h('span', { class: 'bar-track', 'aria-hidden': 'true' },
        h('span', { class: 'bar-fill', style: `width:${Math.round((r.value / max) * 100)}%` })),
      h('span', { class: 'bar-value' }, format(r.value) + unit, r.note ? h('small', {}, ' ', r.note) : null)))));
}

/** series: [{label, values: [a, b]}], legend: [nameA, nameB] -> vertical paired columns (e.g. by month). */
export function columnChart(title, series, legend) {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  return h('figure', { class: 'chart columns' },
    h('figcaption', {}, title,
      h('span', { class: 'legend' }, legend.map((name, i) => h('span', { class: `key k${i}` }, name)))),
    h('div', { class: 'cols' }, series.map((s) => h('div', { class: 'col' },
      h('div', { class: 'col-bars' }, s.values.map((v, i) => h('span', {
        class: `col-bar k${i}`, style: `height:${Math.round((v / max) * 100)}%`, title: `${legend[i]}: ${v}`,
      }))),
      h('span', { class: 'col-label' }, s.label)))));
}

/** A big number with a caption. */
export function stat(label, value, note, tone) {
  return h('div', { class: `stat${tone ? ` tone-${tone}` : ''}` },
    h('span', { class: 'stat-value' }, value),
    h('span', { class: 'stat-label' }, label),
    note ? h('span', { class: 'stat-note' }, note) : null);
}

/** rows: [{label, values: [a, b, c]}] in per cent, legend: three names -> each row's rates as bars side by side. */
export function rateChart(title, rows, legend) {
  const pct = (v) => (v === null || v === undefined ? '—' : `${v}%`);
  return h('figure', { class: 'chart bars rates' },
    h('figcaption', {}, title,
      h('span', { class: 'legend' }, legend.map((name, i) => h('span', { class: `key k${i}` }, name)))),
    h('ul', { role: 'list' }, rows.map((r) => h('li', {},
      h('span', { class: 'bar-label' }, r.label),
      h('span', { class: 'bar-group' }, r.values.map((v, i) => h('span', { class: 'bar-line' },
        h('span', { class: 'bar-track', 'aria-hidden': 'true' },
          h('span', { class: `bar-fill k${i}`, style: `width:${v || 0}%` })),
        h('span', { class: 'bar-value', 'aria-label': `${legend[i]} ${pct(v)}` }, pct(v)))))))));
}
