// Community staff: follow-up visits (回访) that 1–2 star ratings opened.
import { get } from '../api.js';
import { L } from '../i18n.js';
import { categoryNames } from '../state.js';
import { empty, h, pageHeader, select } from '../ui.js';
import { petitionCard } from './lists.js';

export async function followUpsPage(params, ctx) {
  const status = new URLSearchParams(location.hash.split('?')[1] || '').get('status') ?? 'open';
  const [page, names] = await Promise.all([get('/follow-ups', { status: status || undefined, page_size: 100 }), categoryNames()]);
  const counts = page.counts || {};
  return h('section', {},
    pageHeader(L('回访', 'Follow-ups'),
      select([{ value: 'open', label: L('待回访', 'Open') }, { value: 'done', label: L('已回访', 'Done') }, { value: '', label: L('全部', 'All') }],
        { value: status, 'aria-label': L('筛选', 'Filter'), onchange: (e) => { location.hash = `#/follow-ups?status=${e.target.value}`; } })),
    h('p', { class: 'lead' }, L('居民打 1–2 星时自动生成回访。待回访 {o} 件，已回访 {d} 件。', 'A 1–2 star rating opens a follow-up. Open: {o}, done: {d}.',
      { o: counts.open ?? 0, d: counts.done ?? 0 })),
    page.items.length ? h('div', { class: 'cards' }, page.items.map((p) => petitionCard(p, names, { onChanged: ctx.rerender })))
      : empty(L('没有需要回访的诉求。', 'No follow-ups here.')));
}
