// Lists of petitions: a resident's own, each role's work queue (overdue first), and everything in view.
import { get, post } from '../api.js';
import { QUICK, allowedActions } from '../actions.js';
import { L, codes, term } from '../i18n.js';
import { categoryNames, is, state } from '../state.js';
import { deadlineNote, empty, errorBox, fmtTime, h, link, pageHeader, select, stars, statusBadge, toast } from '../ui.js';
import { describeError } from '../errors.js';
import { overdueVisitsGroup } from './households.js';

const QUICK_LABEL = { claim: ['认领', 'Claim'], accept: ['接单', 'Accept'] };

export function petitionCard(p, names, { onChanged } = {}) {
  const quick = onChanged ? allowedActions(p).filter((a) => QUICK.includes(a)) : [];
  return h('article', { class: `pcard${p.overdue ? ' is-overdue' : ''}`, dataset: { id: p.id, status: p.status } },
    h('a', { class: 'pcard-main', href: `#/p/${p.id}` },
      h('div', { class: 'pcard-top' },
        h('span', { class: 'pid' }, p.id), statusBadge(p.status),
        h('span', { class: 'level' }, term('level', p.level)),
        p.kind === 'help' ? h('span', { class: 'badge help' }, L('求助', 'Help')) : null),
      h('h3', {}, p.title),
      h('p', { class: 'meta' }, [names[p.category] || p.category, p.building_id, fmtTime(p.created_at)].filter(Boolean).join(' · ')),
      p.rating ? h('p', { class: 'meta stars', 'aria-label': L('{n} 星', '{n} stars', { n: p.rating }) }, stars(p.rating)) : null,
      deadlineNote(p)),
    quick.length ? h('div', { class: 'pcard-actions' }, quick.map((action) => h('button', {
      type: 'button', class: 'primary small', dataset: { action },
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          await post(`/petitions/${encodeURIComponent(p.id)}/${action}`);
          toast(action === 'claim' ? L('已认领，请尽快处理', 'Claimed: it is yours now') : L('已接单', 'Accepted'));
          onChanged();
        } catch (err) {
          toast(describeError(err), 'error');
          button.disabled = false;
        }
      },
    }, L(...QUICK_LABEL[action])))) : null);
}

// -- a resident's own petitions -------------------------------------------------------------

export async function minePage(params, ctx) {
  const [page, names] = await Promise.all([get('/petitions', { page_size: 50 }), categoryNames()]);
  const mine = page.items.filter((p) => p.resident_id === state.me.user_id || (p.followers || []).includes(state.me.user_id));
  const waiting = mine.filter((p) => p.status === 'resolved' && p.resident_id === state.me.user_id);
  return h('section', {},
    pageHeader(L('我的诉求', 'My petitions'), link('#/file', L('+ 我要反映', '+ Report a problem'), { class: 'button primary' })),
    waiting.length ? h('div', { class: 'notice' }, L('有 {n} 件诉求已办结，请您评价。', '{n} resolved petition(s) wait for your rating.', { n: waiting.length })) : null,
    mine.length ? h('div', { class: 'cards' }, mine.map((p) => petitionCard(p, names, { onChanged: ctx.rerender })))
      : empty(L('您还没有提过诉求。遇到问题，点“我要反映”。', 'You have not filed anything yet. Use “Report a problem”.')),
    page.total > page.items.length ? h('p', { class: 'hint' }, L('只显示最近 {n} 件。', 'Showing the latest {n}.', { n: page.items.length })) : null);
}

// -- each role's work queue ---------------------------------------------------------------

function bucket(p) {
  const me = state.me;
  if (p.overdue && ['submitted', 'in_progress', 'escalated', 'dispatched'].includes(p.status)) return 'overdue';
  if (p.follow_up && p.follow_up.status === 'open' && is.community()) return 'follow_up';
  if (p.status === 'submitted' && p.level === 'party') return 'help';
  if (p.status === 'submitted' && p.level === 'grid') return 'claim';
  if (p.status === 'escalated' && p.level === 'community') return 'dispatch';
  if (p.status === 'dispatched' && p.level === 'department') return 'accept';
  if (p.status === 'in_progress' && p.handler_id === me.user_id) return 'handling';
  if (p.status === 'resolved' && p.resident_id === me.user_id) return 'rate';
  return 'other';
}

// the order groups are shown in: whatever is past its time limit comes first, whatever it waits for
const BUCKETS = {
  overdue: ['已超时（请优先处理）', 'Overdue: deal with these first'],
  help: ['求助待认领（居民吹哨，党员报到）', 'Help requests to claim'],
  claim: ['待认领', 'To claim'],
  dispatch: ['待派单（网格吹哨，社区报到）', 'Escalated: to dispatch'],
  accept: ['待接单（社区吹哨，部门报到）', 'Dispatched to my department: to accept'],
  handling: ['我在办理', 'I am handling'],
  follow_up: ['待回访', 'Follow-ups to record'],
  rate: ['待我评价', 'Waiting for my rating'],
  other: ['其他', 'Other'],
};

export async function queuePage(params, ctx) {
  const [page, names, visits] = await Promise.all([get('/petitions', { queue: 'mine', sort: 'deadline', page_size: 100 }), categoryNames(),
    overdueVisitsGroup()]);
  const groups = {};
  for (const p of page.items) (groups[bucket(p)] ||= []).push(p);
  const overdue = page.items.filter((p) => p.overdue).length;
  // community staff tick recurring petitions here and turn them into one micro-project (微项目)
  const card = (p) => {
    const el = petitionCard(p, names, { onChanged: ctx.rerender });
    if (is.community()) el.append(h('label', { class: 'check pick' }, h('input', { type: 'checkbox', name: 'pick', value: p.id }), L('选入微项目', 'Pick for a project')));
    return el;
  };
  const toProject = () => {
    const picked = [...document.querySelectorAll('main [name=pick]:checked')].map((c) => c.value);
    location.hash = '#/projects/new' + (picked.length ? `?petitions=${picked.map(encodeURIComponent).join(',')}` : '');
  };
  return h('section', {},
    pageHeader(L('待办', 'Work queue'),
      is.community() ? h('button', { type: 'button', class: 'secondary small', 'data-testid': 'to-project', onclick: toProject }, L('用所选发起微项目', 'Project from picked')) : null,
      h('button', { type: 'button', class: 'secondary small', onclick: ctx.rerender }, L('刷新', 'Refresh'))),
    h('p', { class: 'lead' }, L('共 {n} 件等待处理', '{n} waiting', { n: page.total }),
      overdue ? h('span', { class: 'deadline overdue' }, L('，其中 {n} 件已超时', ', {n} overdue', { n: overdue })) : null,
      L('。超时的排在最前。', '. Overdue first.')),
    visits,
    page.items.length ? Object.keys(BUCKETS).filter((k) => groups[k]).map((k) => h('div', { class: 'group', dataset: { bucket: k } },
      h('h2', {}, L(...BUCKETS[k]), h('span', { class: 'count plain' }, String(groups[k].length))),
      h('div', { class: 'cards' }, groups[k].map(card))))
      : empty(L('暂时没有待办，辛苦了！', 'Nothing waiting. Well done!')));
}

// -- everything the user may see, filtered ------------------------------------------------

export async function allPage(params, ctx) {
  const q = Object.fromEntries(new URLSearchParams(location.hash.split('?')[1] || ''));
  const query = { status: q.status, level: q.level, category: q.category, overdue: q.overdue, sort: q.sort || 'newest', page: q.page || 1, page_size: 20 };
  const names = await categoryNames();
  let page;
  let error = null;
  try { page = await get('/petitions', query); } catch (err) { error = err; page = { items: [], total: 0, page: 1, page_size: 20 }; }
  const setQ = (changes) => {
    const next = { ...q, ...changes };
    if (!('page' in changes)) delete next.page;
    const s = new URLSearchParams(Object.entries(next).filter(([, v]) => v)).toString();
    location.hash = '#/all' + (s ? '?' + s : '');
  };
  const filter = (name, label, options) => h('label', { class: 'filter' }, h('span', {}, label),
    select([{ value: '', label: L('全部', 'All') }, ...options], { value: q[name] || '', onchange: (e) => setQ({ [name]: e.target.value }) }));
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  const current = Number(query.page);
  return h('section', {},
    pageHeader(L('全部诉求', 'All petitions')),
    h('div', { class: 'filters' },
      filter('status', L('状态', 'Status'), codes('status').map((s) => ({ value: s, label: term('status', s) }))),
      filter('level', L('层级', 'Level'), codes('level').map((s) => ({ value: s, label: term('level', s) }))),
      filter('category', L('类别', 'Category'), Object.entries(names).map(([value, label]) => ({ value, label }))),
      filter('overdue', L('超时', 'Overdue'), [{ value: 'true', label: L('已超时', 'Overdue') }, { value: 'false', label: L('未超时', 'On time') }]),
      h('label', { class: 'filter' }, h('span', {}, L('排序', 'Sort')), select([
        { value: 'newest', label: L('最新', 'Newest') }, { value: 'oldest', label: L('最早', 'Oldest') },
        { value: 'deadline', label: L('期限（超时优先）', 'Deadline (overdue first)') }], { value: query.sort, onchange: (e) => setQ({ sort: e.target.value }) }))),
    error ? errorBox(error) : null,
    h('p', { class: 'hint' }, L('共 {n} 件', '{n} in all', { n: page.total })),
    page.items.length ? h('div', { class: 'cards' }, page.items.map((p) => petitionCard(p, names, { onChanged: ctx.rerender })))
      : empty(L('没有符合条件的诉求。', 'No petitions match.')),
    pages > 1 ? h('div', { class: 'pager' },
      h('button', { type: 'button', class: 'secondary small', disabled: current <= 1, onclick: () => setQ({ page: current - 1 }) }, L('上一页', 'Previous')),
      h('span', {}, `${current} / ${pages}`),
      h('button', { type: 'button', class: 'secondary small', disabled: current >= pages, onclick: () => setQ({ page: current + 1 }) }, L('下一页', 'Next'))) : null);
}
