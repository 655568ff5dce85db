// Households and their care level (红橙绿: 绿色放心户 · 橙色关心户 · 红色连心户), visits (入户走访), visit intervals.
import { get, post, put } from '../api.js';
import { L, term } from '../i18n.js';
import { categories, hasRole, state } from '../state.js';
import { empty, errorBox, field, fmtDate, fmtTime, form, h, input, pageHeader, select, textarea, toast, value } from '../ui.js';

export const CARE_VIEWERS = ['building_leader', 'grid_worker', 'grid_leader', 'community_staff', 'district_admin'];
const LEVEL_SETTERS = ['grid_worker', 'grid_leader', 'community_staff', 'district_admin'];
const URGENCY = ['red', 'orange', 'green'];

export const mayVisit = () => hasRole(...CARE_VIEWERS) && !!(state.me && state.me.district);

export function levelBadge(level) {
  return h('span', { class: `badge care-${level}`, dataset: { level } }, term('care', level));
}

function dueNote(hh) {
  if (hh.visit_overdue) {
    return h('span', { class: 'deadline overdue' }, L('逾期未走访 {n} 天（应于 {d}）', 'Visit overdue by {n} days (due {d})',
      { n: hh.overdue_days, d: fmtDate(hh.next_visit_due) }));
  }
  return h('span', { class: 'deadline' }, L('下次走访 {d}', 'Next visit {d}', { d: fmtDate(hh.next_visit_due) }));
}

export function householdCard(hh) {
  return h('article', { class: `pcard hcard${hh.visit_overdue ? ' is-overdue' : ''}`, dataset: { id: hh.id, level: hh.care_level } },
    h('a', { class: 'pcard-main', href: `#/h/${encodeURIComponent(hh.id)}` },
      h('div', { class: 'pcard-top' }, levelBadge(hh.care_level), dueNote(hh)),
      h('h3', {}, hh.name),
      h('p', { class: 'meta' }, [hh.building_name || hh.building_id, hh.address, hh.care_reason].filter(Boolean).join(' · ')),
      h('p', { class: 'meta' }, hh.last_visit_on ? L('上次走访 {d}', 'Last visited {d}', { d: fmtDate(hh.last_visit_on) })
        : L('尚无走访记录', 'Not visited yet'))));
}

/** The work queue's first group: households whose visit is overdue, for whoever visits them. */
export async function overdueVisitsGroup() {
  if (!mayVisit()) return null;
  let page;
  try {
    page = await get('/households', { queue: 'mine', overdue: true, page_size: 20 });
  } catch (err) {
    return h('div', { class: 'care-group', dataset: { bucket: 'visits' } }, errorBox(err));
  }
  if (!page.total) return null;
  return h('div', { class: 'care-group', dataset: { bucket: 'visits' } },
    h('h2', {}, L('逾期未走访（请尽快上门）', 'Visits overdue: call on these first'), h('span', { class: 'count plain' }, String(page.total))),
    h('div', { class: 'cards' }, page.items.map(householdCard)),
    page.total > page.items.length ? h('p', { class: 'hint' }, h('a', { href: '#/households?overdue=true' }, L('查看全部 {n} 户', 'See all {n}', { n: page.total }))) : null);
}

// -- the list ------------------------------------------------------------------------------

export async function householdsPage() {
  const q = Object.fromEntries(new URLSearchParams(location.hash.split('?')[1] || ''));
  const query = { queue: 'mine', care_level: q.care_level, overdue: q.overdue, building_id: q.building_id, sort: q.sort || 'due', page: q.page || 1, page_size: 30 };
  let page;
  let error = null;
  try { page = await get('/households', query); } catch (err) { error = err; page = { items: [], total: 0, overdue: 0, page: 1, page_size: 30 }; }
  const setQ = (changes) => {
    const next = { ...q, ...changes };
    if (!('page' in changes)) delete next.page;
    const s = new URLSearchParams(Object.entries(next).filter(([, v]) => v)).toString();
    location.hash = '#/households' + (s ? '?' + s : '');
  };
  const filter = (name, label, options) => h('label', { class: 'filter' }, h('span', {}, label),
    select([{ value: '', label: L('全部', 'All') }, ...options], { value: q[name] || '', name, onchange: (e) => setQ({ [name]: e.target.value }) }));
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  const current = Number(query.page);
  return h('section', { class: 'households' },
    pageHeader(L('走访户', 'Households')),
    h('p', { class: 'lead' }, L('共 {n} 户', '{n} households', { n: page.total }),
      page.overdue ? h('span', { class: 'deadline overdue' }, L('，其中 {n} 户逾期未走访', ', {n} overdue for a visit', { n: page.overdue })) : null,
      L('。逾期的排在最前。红色每周、橙色每月、绿色每季度走访一次（可在设置中调整）。', '. Overdue first. Red weekly, orange monthly, green quarterly by default.')),
    h('div', { class: 'filters' },
      filter('care_level', L('关爱等级', 'Care level'), URGENCY.map((c) => ({ value: c, label: term('care', c) }))),
      filter('overdue', L('走访', 'Visits'), [{ value: 'true', label: L('逾期未走访', 'Overdue') }, { value: 'false', label: L('未逾期', 'On time') }]),
      h('label', { class: 'filter' }, h('span', {}, L('排序', 'Sort')), select([
        { value: 'due', label: L('按应走访日期（逾期优先）', 'By due day (overdue first)') },
        { value: 'building', label: L('按楼栋门牌', 'By building and door') }], { value: query.sort, name: 'sort', onchange: (e) => setQ({ sort: e.target.value }) }))),
    error ? errorBox(error) : null,
    page.items.length ? h('div', { class: 'cards' }, page.items.map(householdCard)) : empty(L('没有符合条件的住户。', 'No households match.')),
    pages > 1 ? h('div', { class: 'pager' },
      h('button', { type: 'button', class: 'secondary small', disabled: current <= 1, onclick: () => setQ({ page: current - 1 }) }, L('上一页', 'Previous')),
      h('span', {}, `${current} / ${pages}`),
      h('button', { type: 'button', class: 'secondary small', disabled: current >= pages, onclick: () => setQ({ page: current + 1 }) }, L('下一页', 'Next'))) : null);
}

// -- one household ------------------------------------------------------------------------

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function localToday() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function needs(text) {
  return String(text || '').split(/[,，、;；\n]+/).map((s) => s.trim()).filter(Boolean);
}

function members(hh) {
  if (!hh.members.length) return h('p', { class: 'hint' }, L('未登记家庭成员。', 'No members recorded.'));
  return h('ul', { class: 'members' }, hh.members.map((m) => h('li', {},
    h('strong', {}, m.name), m.relation ? ` · ${m.relation}` : '',
    m.phone ? [' · ', h('a', { href: `tel:${m.phone.replace(/[\s-]/g, '')}` }, m.phone)] : null,
    m.user_id ? h('span', { class: 'badge', title: L('平台账号', 'Platform account') }, m.user_id) : null)));
}

function careHistory(hh) {
  return h('ol', { class: 'timeline care-history' }, [...hh.care_history].reverse().map((c) => h('li', {},
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h('div', {},
      h('strong', {}, c.from_level ? `${term('care', c.from_level)} → ${term('care', c.to_level)}` : term('care', c.to_level)),
      h('span', { class: 'meta' }, ' ', c.by.name || c.by.id || L('导入', 'import'), c.by.role ? `（${term('role', c.by.role)}）` : '', ' · ', fmtTime(c.at)),
      c.reason ? h('p', { class: 'note' }, c.reason) : null))));
}

function visitList(items) {
  if (!items.length) return h('p', { class: 'hint' }, L('还没有走访记录。', 'No visits yet.'));
  return h('ol', { class: 'timeline visits' }, items.map((v) => h('li', { dataset: { id: v.id } },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h('div', {},
      h('strong', {}, fmtDate(v.visited_on)),
      h('span', { class: 'meta' }, ' ', v.visitor.name || v.visitor.id, `（${term('role', v.visitor.role)}）`),
      v.notes ? h('p', { class: 'note' }, v.notes) : null,
      v.needs_found.length ? h('p', { class: 'needs' }, L('发现需求：', 'Needs found: '), v.needs_found.map((n) => h('span', { class: 'badge' }, n))) : null,
      v.petition_id ? h('p', { class: 'meta' }, L('代办诉求 ', 'Petition filed '), h('a', { href: `#/p/${encodeURIComponent(v.petition_id)}` }, v.petition_id)) : null,
      v.wish_id ? h('p', { class: 'meta' }, L('微心愿 ', 'Micro-wish '), v.wish_id) : null))));
}

function levelForm(hh, done) {
  const choices = h('fieldset', { class: 'choices' }, URGENCY.map((c) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'level', value: c, checked: c === hh.care_level }), levelBadge(c))));
  return h('div', { class: 'card action', dataset: { action: 'care-level' } },
    h('h2', {}, L('调整关爱等级', 'Change the care level')),
    h('p', { class: 'hint' }, L('红色：重大变故、重大疾病、灾害；橙色：残疾人、低保户、孤寡老人、留守儿童；绿色：收入稳定、家庭和谐。',
      'Red: a major change, grave illness or disaster. Orange: disability, low income, elderly alone, children left behind. Green: steady and well.')),
    form({
      submit: L('保存等级', 'Save level'),
      children: [
        field({ name: 'level', label: L('等级', 'Level'), control: choices, required: true }),
        field({ name: 'reason', label: L('原因', 'Reason'), required: true, control: textarea({ name: 'reason', rows: 2, maxlength: 200 }) }),
      ],
      action: async (el) => {
        const body = { reason: value(el, 'reason').trim() };
        const level = value(el, 'level');
        if (level) body.level = level;
        done(await put(`/households/${encodeURIComponent(hh.id)}/care-level`, body), L('等级已保存', 'Level saved'));
      },
    }));
}

function visitForm(hh, cats, done) {
  const petitionFields = h('div', { class: 'petition-fields', hidden: true },
    field({ name: 'petition.category', label: L('诉求类别', 'Category'), required: true,
      control: select([{ value: '', label: L('请选择', 'Choose') }, ...cats.map((c) => ({ value: c.category, label: c.name }))], { name: 'petition.category' }) }),
    field({ name: 'petition.title', label: L('诉求标题', 'Title'), required: true, control: input({ name: 'petition.title', maxlength: 120 }) }),
    field({ name: 'petition.description', label: L('详细情况', 'Details'), control: textarea({ name: 'petition.description', rows: 2 }) }));
  const toggle = h('input', { type: 'checkbox', name: 'with_petition', onchange: (e) => { petitionFields.hidden = !e.target.checked; } });
  return h('div', { class: 'card action', dataset: { action: 'visit' } },
    h('h2', {}, L('登记走访', 'Log a visit')),
    form({
      submit: L('保存走访', 'Save visit'),
      children: [
        field({ name: 'visited_on', label: L('走访日期', 'Date'), required: true, control: input({ name: 'visited_on', type: 'date', value: localToday(), max: localToday() }) }),
        field({ name: 'notes', label: L('走访情况', 'Notes'), control: textarea({ name: 'notes', rows: 3, maxlength: 2000 }) }),
        field({ name: 'needs_found', label: L('发现的需求', 'Needs found'), control: input({ name: 'needs_found', placeholder: L('如：助餐、就医陪护', 'e.g. meals, hospital escort') }),
          hint: L('多个需求用逗号或顿号隔开。', 'Separate several with commas.') }),
        field({ name: 'wish_id', label: L('关联微心愿编号（可选）', 'Micro-wish number (optional)'), control: input({ name: 'wish_id', autocapitalize: 'none' }) }),
        h('label', { class: 'check' }, toggle, L('现场代办一件诉求', 'File a petition for the household now (代办)')),
        petitionFields,
      ],
      action: async (el) => {
        const body = { visited_on: value(el, 'visited_on'), notes: value(el, 'notes').trim(), needs_found: needs(value(el, 'needs_found')) };
        const wish = value(el, 'wish_id').trim();
        if (wish) body.wish_id = wish;
        if (toggle.checked) {
          body.petition = { title: value(el, 'petition.title').trim(), description: value(el, 'petition.description').trim() };
          if (value(el, 'petition.category')) body.petition.category = value(el, 'petition.category');
        }
        const visit = await post(`/households/${encodeURIComponent(hh.id)}/visits`, body);
        done(visit.household, visit.petition_id ? L('走访已登记，诉求 {p} 已代办提交', 'Visit saved; petition {p} filed', { p: visit.petition_id }) : L('走访已登记', 'Visit saved'));
      },
    }));
}

export async function householdPage({ id }) {
  const path = `/households/${encodeURIComponent(id)}`;
  const cats = await categories().catch(() => []);
  const section = h('section', { class: 'household' });

  async function draw() {
    const [hh, visits] = await Promise.all([get(path), get(`${path}/visits`, { page_size: 50 })]);
    const done = async (_, message) => { toast(message); await draw(); window.scrollTo({ top: 0 }); };
    section.dataset.id = hh.id;
    section.dataset.level = hh.care_level;
    section.replaceChildren(
      h('a', { class: 'back', href: '#/households', onclick: (e) => { if (history.length > 1) { e.preventDefault(); history.back(); } } }, L('‹ 返回', '‹ Back')),
      pageHeader(hh.name),
      h('div', { class: 'pcard-top' }, levelBadge(hh.care_level), dueNote(hh)),
      h('div', { class: 'columns' },
        h('div', { class: 'col-main' },
          h('div', { class: 'card' },
            facts([
              [L('楼栋', 'Building'), hh.building_name || hh.building_id],
              [L('门牌', 'Door'), hh.address],
              [L('关爱原因', 'Why'), hh.care_reason],
              [L('走访周期', 'Visit every'), L('{n} 天', '{n} days', { n: hh.visit_interval_days })],
              [L('上次走访', 'Last visit'), hh.last_visit_on ? fmtDate(hh.last_visit_on) : L('尚无', 'none yet')],
              [L('走访次数', 'Visits'), String(hh.visit_count)],
            ]),
            h('h3', {}, L('家庭成员', 'Members')), members(hh)),
          mayVisit() ? visitForm(hh, cats, done) : null,
          hasRole(...LEVEL_SETTERS) ? levelForm(hh, done) : null),
        h('div', { class: 'col-side' },
          h('div', { class: 'card', dataset: { section: 'visits' } }, h('h2', {}, L('走访记录', 'Visits'), h('span', { class: 'count plain' }, String(visits.total))), visitList(visits.items)),
          h('div', { class: 'card', dataset: { section: 'care-history' } }, h('h2', {}, L('等级变更记录', 'Care level history')), careHistory(hh)))));
  }
  try { await draw(); } catch (err) { return h('section', {}, pageHeader(id), errorBox(err)); }
  return section;
}

// -- the district's visit intervals (settings page) --------------------------------------------

export async function careSettingsCard(numberForm) {
  const code = encodeURIComponent(state.me.district);
  const current = await get(`/districts/${code}/care-settings`);
  return numberForm(L('走访周期', 'Visit intervals'),
    L('每一关爱等级多少天走访一次；红色不得长于橙色，橙色不得长于绿色。修改后所有住户的应走访日期随之调整。',
      'Days between visits for each care level; red no longer than orange, orange no longer than green. Every household’s due day follows at once.'),
    [['red_days', '红色连心户', 'Red'], ['orange_days', '橙色关心户', 'Orange'], ['green_days', '绿色放心户', 'Green']],
    current, L('天', 'days'), (body) => put(`/districts/${code}/care-settings`, body));
}
