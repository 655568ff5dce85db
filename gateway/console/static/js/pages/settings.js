// District administrator: time limits, point rules, the category catalogue, the ledger check, templates.
import { del, get, put } from '../api.js';
import { describeError } from '../errors.js';
import { L, getLang, term } from '../i18n.js';
import { categories, departments, forget, state } from '../state.js';
import { errorBox, field, form, h, input, pageHeader, select, textarea, toast, value } from '../ui.js';
import { careSettingsCard } from './households.js';

const LIMITS = [
  ['help_claim_hours', '求助等待党员认领', 'Help request: a party member claims it'],
  ['grid_claim_hours', '网格认领', 'Grid: claim'],
  ['grid_resolve_hours', '网格办结', 'Grid: resolve'],
  ['community_dispatch_hours', '社区派单', 'Community: dispatch'],
  ['department_accept_hours', '部门接单', 'Department: accept'],
  ['department_resolve_hours', '部门办结', 'Department: resolve'],
  ['rate_hours', '居民评价（超时自动归档）', 'Resident: rate (then it closes by itself)'],
];

const RULES = [
  ['reporter_rated', '居民评价诉求', 'Resident rates a petition'],
  ['handler_5_star', '办理人获 5 星', 'Handler gets 5 stars'],
  ['handler_4_star', '办理人获 4 星', 'Handler gets 4 stars'],
  ['activity_attendance', '参加志愿活动（默认）', 'Volunteer activity attended (default)'],
  ['claim_approved', '自主申报通过（默认）', 'Good deed approved (default)'],
  ['wish_fulfilled', '认领微心愿', 'Micro-wish fulfilled'],
  ['wish_fulfilled_organisation', '单位认领微心愿（记入单位账户）', 'Micro-wish fulfilled by an organisation (to its account)'],
];

function numbers(el, names) {
  const out = {};
  for (const name of names) {
    const v = value(el, name);
    if (v === '' || v === undefined) continue;
    const n = Number(v);
    out[name] = Number.isInteger(n) ? n : v; // let the API name a bad value
  }
  return out;
}

function numberForm(title, lead, rows, current, unit, save) {
  return h('div', { class: 'card', dataset: { section: title } },
    h('h2', {}, title), h('p', { class: 'hint' }, lead),
    form({
      submit: L('保存', 'Save'), className: 'grid-form',
      children: rows.map(([name, zh, en]) => field({ name, label: L(zh, en),
        control: h('div', { class: 'with-unit' }, input({ name, type: 'number', inputmode: 'numeric', step: 1, value: current[name] ?? '' }), h('span', {}, unit)) })),
      action: async (el) => { await save(numbers(el, rows.map((r) => r[0]))); toast(L('已保存', 'Saved')); },
    }));
}

// -- the category editor ------------------------------------------------------------------

function fieldRow(f, index) {
  const n = (name) => `fields[${index}].${name}`;
  return h('fieldset', { class: 'field-row', dataset: { field: `fields[${index}]` } },
    h('legend', {}, L('字段 {i}', 'Field {i}', { i: index + 1 })),
    h('div', { class: 'row' },
      field({ name: n('code'), label: L('代码', 'Code'), control: input({ name: n('code'), value: f.code || '', autocapitalize: 'none' }) }),
      field({ name: n('name'), label: L('名称', 'Name'), control: input({ name: n('name'), value: f.name || '' }) }),
      field({ name: n('type'), label: L('类型', 'Type'), control: select(['string', 'number', 'single_choice', 'multiple_choice'].map((t) => ({ value: t, label: term('fieldType', t) })), { name: n('type'), value: f.type || 'string' }) }),
      field({ name: n('required'), label: L('必填', 'Required'), control: h('label', { class: 'check' }, h('input', { type: 'checkbox', name: n('required'), checked: !!f.required }), L('是', 'Yes')) })),
    field({ name: n('choices'), label: L('选项（每行一个：代码=名称）', 'Choices (one per line: key=name)'), wide: true,
      control: textarea({ name: n('choices'), rows: 2, value: (f.choices || []).map((c) => `${c.key}=${c.name}`).join('\n') }) }),
    h('p', { class: 'field-error', role: 'alert', hidden: true }));
}

function readFields(el, count) {
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const n = (name) => `fields[${i}].${name}`;
    if (!el.querySelector(`[name="${CSS.escape(n('code'))}"]`)) continue;
    const choices = String(value(el, n('choices')) || '').split('\n').map((s) => s.trim()).filter(Boolean).map((line) => {
      const [key, ...rest] = line.split('=');
      return { key: key.trim(), name: (rest.join('=') || key).trim() };
    });
    out.push({ code: value(el, n('code')).trim(), name: value(el, n('name')).trim(), type: value(el, n('type')), required: value(el, n('required')), choices });
  }
  return out;
}

function categoryEditor(def, deptList, onSaved) {
  const creating = !def;
  def = def || { category: '', name: '', description: '', department_id: '', kind: 'issue', fields: [] };
  const rows = h('div', { class: 'field-rows' });
  let count = 0;
  const addRow = (f) => { rows.append(fieldRow(f || {}, count)); count += 1; };
  def.fields.forEach(addRow);
  const f = form({
    submit: creating ? L('新建类别', 'Create category') : L('保存类别', 'Save category'),
    children: [
      creating ? field({ name: 'category', label: L('类别代码', 'Category code'), required: true, control: input({ name: 'category', autocapitalize: 'none', placeholder: 'streetlight' }) }) : null,
      field({ name: 'name', label: L('名称', 'Name'), required: true, control: input({ name: 'name', value: def.name }) }),
      field({ name: 'description', label: L('说明', 'Description'), control: textarea({ name: 'description', rows: 2, value: def.description || '' }) }),
      field({ name: 'kind', label: L('类型', 'Kind'), control: select(['issue', 'help'].map((k) => ({ value: k, label: term('kind', k) })), { name: 'kind', value: def.kind }) }),
      field({ name: 'department_id', label: L('对口部门', 'Department'), control: select([{ value: '', label: L('（无：仅求助类）', '(none: help only)') },
        ...deptList.map((d) => ({ value: d.id, label: d.name }))], { name: 'department_id', value: def.department_id || '' }) }),
      h('h3', {}, L('补充字段', 'Extra fields')), rows,
      h('button', { type: 'button', class: 'secondary small', onclick: () => addRow({}) }, L('+ 添加字段', '+ Add a field')),
    ],
    action: async (el) => {
      const code = creating ? value(el, 'category').trim() : def.category;
      if (creating && !code) {
        const err = { status: 422, errors: { category: ['Missing data for required field.'] }, body: {} };
        throw err;
      }
      const body = { name: value(el, 'name').trim(), description: value(el, 'description').trim(), kind: value(el, 'kind'),
        department_id: value(el, 'department_id') || null, fields: readFields(el, count) };
      await put(`/districts/${encodeURIComponent(state.me.district)}/categories/${encodeURIComponent(code)}`, body);
      forget('categories');
      toast(L('类别已保存', 'Category saved'));
      onSaved();
    },
  });
  return f;
}

async function categorySection(rerender) {
  const [list, deptList] = await Promise.all([categories(), departments()]);
  const holder = h('div', { class: 'editor-holder' });
  const open = (def) => {
    holder.replaceChildren(h('div', { class: 'card inset' },
      h('h3', {}, def ? `${def.name}（${def.category}）` : L('新建类别', 'New category')),
      categoryEditor(def, deptList, rerender)));
    holder.scrollIntoView({ block: 'start' });
  };
  return h('div', { class: 'card', dataset: { section: 'categories' } },
    h('h2', {}, L('诉求类别与补充字段', 'Categories and their fields')),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, [L('代码', 'Code'), L('名称', 'Name'), L('类型', 'Kind'), L('对口部门', 'Department'), L('字段', 'Fields'), ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, list.map((c) => h('tr', {},
        h('td', {}, c.category), h('td', {}, c.name), h('td', {}, term('kind', c.kind)), h('td', {}, c.department_name || c.department_id || '—'),
        h('td', {}, c.fields.map((f) => f.name).join('、') || '—'),
        h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => open(c) }, L('编辑', 'Edit')))))))),
    h('button', { type: 'button', class: 'secondary small', onclick: () => open(null) }, L('+ 新建类别', '+ New category')),
    holder);
}

async function ledgerSection() {
  const result = h('div', { 'aria-live': 'polite' });
  const check = async () => {
    result.replaceChildren(h('p', { class: 'loading' }, L('正在核对…', 'Checking…')));
    try {
      const r = await get(`/districts/${encodeURIComponent(state.me.district)}/ledger/check`);
      result.replaceChildren(h('div', { class: `notice ${r.balanced && !r.negative_accounts.length ? 'good' : 'error'}` },
        r.balanced ? L('账目平衡：{n} 笔记录合计为 0。', 'Balanced: {n} entries sum to zero.', { n: r.entries })
          : L('账目不平衡：合计 {s}', 'Not balanced: sum {s}', { s: r.sum }),
        r.negative_accounts.length ? h('p', {}, L('余额为负的账户：', 'Overdrawn accounts: '), r.negative_accounts.join(', ')) : null));
    } catch (err) { result.replaceChildren(errorBox(err)); }
  };
  return h('div', { class: 'card', dataset: { section: 'ledger' } }, h('h2', {}, L('积分账目核对', 'Ledger check')),
    h('p', { class: 'hint' }, L('复式记账：全区积分收支合计应为 0，且没有账户透支。', 'Double entry: the district’s entries sum to zero and no account is overdrawn.')),
    h('button', { type: 'button', class: 'secondary', onclick: check }, L('立即核对', 'Check now')), result);
}

function templateEditor(t, url, onSaved) {
  return form({
    submit: L('保存模板', 'Save template'),
    secondary: t.source !== 'default' ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try { await del(`${url}/${[t.type, t.audience, t.locale].map(encodeURIComponent).join('/')}`); toast(L('已恢复默认', 'Back to the default')); onSaved(); } catch (err) { toast(describeError(err), 'error'); }
    } }, L('恢复默认', 'Use the default')) : null,
    children: [
      field({ name: 'title', label: L('标题', 'Title'), required: true, control: input({ name: 'title', value: t.title }) }),
      field({ name: 'body', label: L('内容', 'Body'), required: true, control: textarea({ name: 'body', rows: 3, value: t.body }),
        hint: L('可用占位符：', 'Placeholders: ') + (t.fields || []).map((f) => `{${f}}`).join(' ') }),
    ],
    action: async (el) => {
      await put(`${url}/${[t.type, t.audience, t.locale].map(encodeURIComponent).join('/')}`, { title: value(el, 'title'), body: value(el, 'body') });
      toast(L('模板已保存', 'Template saved'));
      onSaved();
    },
  });
}

let templatesOpen = false; // the list stays open while the administrator works through it

async function templatesSection(rerender) {
  const url = `/districts/${encodeURIComponent(state.me.district)}/notification-templates`;
  const title = h('h2', {}, L('通知模板', 'Notification templates'));
  let items;
  try { items = await get(url); } catch (err) { return h('div', { class: 'card', dataset: { section: 'templates' } }, title, errorBox(err)); }
  const locale = getLang() === 'en' ? 'en' : 'zh-CN';
  const shown = items.filter((t) => t.locale === locale);
  const holder = h('div', { class: 'editor-holder' });
  const open = (t) => {
    holder.replaceChildren(h('div', { class: 'card inset' }, h('h3', {}, `${t.type} · ${t.audience} · ${t.locale}`), templateEditor(t, url, rerender)));
    holder.scrollIntoView({ block: 'start' });
  };
  return h('div', { class: 'card', dataset: { section: 'templates' } }, title,
    h('p', { class: 'hint' }, L('每种通知对每类收件人的文字；本区改过的标“本区”。其他语言的模板在切换语言后显示。',
      'The text of each notice for each audience; the district’s own are marked. Switch the language to see the others.')),
    h('details', { class: 'templates-list', open: templatesOpen, ontoggle: (e) => { templatesOpen = e.currentTarget.open; } }, h('summary', {}, L('查看全部 {n} 个模板', 'Show all {n} templates', { n: shown.length })),
      h('div', { class: 'table-wrap' }, h('table', { class: 'templates' },
      h('thead', {}, h('tr', {}, [L('事件', 'Event'), L('对象', 'Audience'), L('标题', 'Title'), L('内容', 'Body'), ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, shown.map((t) => h('tr', { dataset: { type: t.type, audience: t.audience } },
        h('td', {}, t.type), h('td', {}, term('role', t.audience)),
        h('td', {}, t.title, t.source !== 'default' ? h('span', { class: 'badge' }, L('本区', 'Ours')) : null), h('td', {}, t.body),
        h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => open(t) }, L('编辑', 'Edit'))))))))),
    holder);
}

export async function settingsPage(params, ctx) {
  const code = encodeURIComponent(state.me.district);
  const [limits, rules, wishSettings] = await Promise.all([get(`/districts/${code}/time-limits`), get(`/districts/${code}/point-rules`),
    get(`/districts/${code}/wish-settings`)]);
  return h('section', { class: 'settings' },
    pageHeader(L('设置', 'Settings')),
    h('div', { class: 'grid2' },
      numberForm(L('办理时限', 'Time limits'), L('每一级的时限（小时）。超时后系统自动向上吹哨或提醒上一级；已在等待的诉求保持原期限。',
        'Hours each level has. When they pass the system whistles the petition up or warns the level above; petitions already waiting keep their deadline.'),
      LIMITS, limits, L('小时', 'h'), (body) => put(`/districts/${code}/time-limits`, body)),
      numberForm(L('积分规则', 'Point rules'), L('评价、办理、志愿活动和自主申报发放的积分。修改不影响已发放的积分。', 'Points for rating, handling, volunteering and good deeds. Changes never rewrite past entries.'),
        RULES, rules, L('积分', 'pts'), (body) => put(`/districts/${code}/point-rules`, body)),
      numberForm(L('微心愿', 'Micro-wishes'), L('心愿发布后多少天无人认领，提醒社区工作人员。', 'Days a wish may wait unadopted before its community’s staff are told.'),
        [['flag_days', '无人认领提醒', 'Tell staff after']], wishSettings, L('天', 'days'), (body) => put(`/districts/${code}/wish-settings`, body)),
      await careSettingsCard(numberForm)),
    await categorySection(ctx.rerender),
    await templatesSection(ctx.rerender),
    await ledgerSection());
}
