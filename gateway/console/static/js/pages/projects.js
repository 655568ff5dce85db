// Micro-projects (微项目): the community turns residents' recurring problems into one project; residents of the
// buildings it affects support it and comment; once it is done, its petitions are resolved together.
import { get, patch, post } from '../api.js';
import { L, term } from '../i18n.js';
import { categories, is, state } from '../state.js';
import { describeError } from '../errors.js';
import {
  empty, errorBox, field, fmtTime, form, h, input, link, pageHeader, select, statusBadge, textarea, toast, value,
} from '../ui.js';

const STATUS = {
  proposed: ['待审批', 'Proposed'], approved: ['已立项', 'Approved'], in_progress: ['实施中', 'In progress'],
  done: ['已完成', 'Done'], cancelled: ['已取消', 'Cancelled'],
};
const ACTION = {
  propose: ['发起项目', 'Proposed'], update: ['修改', 'Edited'], approve: ['审批通过', 'Approved'], start: ['开始实施', 'Started'],
  finish: ['完工', 'Done'], cancel: ['取消', 'Cancelled'], resolve_petitions: ['诉求一并办结', 'Petitions resolved'],
};
const REASON = {
  closed: ['已归档', 'already closed'], withdrawn: ['居民已撤回', 'withdrawn by its resident'], merged: ['已合并到其他诉求', 'merged'],
  resolved: ['已由他人办结，等待评价', 'resolved by someone else'], at_department: ['在部门办理中，由部门办结', 'with a department'],
  not_in_scope: ['不在本社区', 'not in this community'], missing: ['找不到', 'missing'], changed: ['正在变动，请再试一次', 'changing: try again'],
};
const OPEN = ['proposed', 'approved', 'in_progress'];
const OPEN_PETITION = ['submitted', 'in_progress', 'escalated', 'dispatched'];
const results = new Map(); // project id -> the last resolve-together answer, shown after the page reloads

const tr = (table, code) => (table[code] ? L(...table[code]) : code);
const badge = (status) => h('span', { class: `badge project-${status}` }, tr(STATUS, status));
const community = () => state.me.community || state.me.scope;
const runs = (p) => is.admin() || (is.community() && p.community === community());
const idList = (text) => String(text || '').split(/[\s,，、]+/).map((s) => s.trim()).filter(Boolean);
const money = (p) => (p.budget == null ? L('待定', 'not set') : `¥${p.budget}`);
const open = (id) => { location.hash = `#/projects/${encodeURIComponent(id)}`; };

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** The fields a project is proposed with; `p` fills them in for editing. */
function projectFields(p = {}) {
  return [
    field({ name: 'title', label: L('项目名称', 'Title'), required: true, control: input({ name: 'title', maxlength: 120, value: p.title }) }),
    field({ name: 'description', label: L('说明', 'Description'), control: textarea({ name: 'description', rows: 2, maxlength: 2000, value: p.description }) }),
    h('div', { class: 'row2' },
      field({ name: 'budget', label: L('预算（元）', 'Budget (yuan)'), control: input({ name: 'budget', inputmode: 'decimal', value: p.budget, placeholder: '3600.50' }),
        hint: L('审批前需填写，可为 0', 'Needed before approval; may be 0') }),
      field({ name: 'sponsor', label: L('出资/承办单位（驻区单位）', 'Sponsor unit'), control: input({ name: 'sponsor', maxlength: 100, value: p.sponsor }) })),
  ];
}

function projectBody(el) {
  const body = { title: value(el, 'title').trim(), description: value(el, 'description').trim() };
  const budget = value(el, 'budget').trim();
  const sponsor = value(el, 'sponsor').trim();
  if (budget) body.budget = budget;
  if (sponsor) body.sponsor = sponsor;
  return body;
}

// -- the list ------------------------------------------------------------------------------

function projectCard(p) {
  return h('article', { class: 'pcard project', dataset: { id: p.id, status: p.status } },
    h('a', { class: 'pcard-main', href: `#/projects/${encodeURIComponent(p.id)}` },
      h('div', { class: 'pcard-top' }, h('span', { class: 'pid' }, p.id), badge(p.status),
        p.supported_by_me ? h('span', { class: 'badge' }, L('我已支持', 'I support it')) : null),
      h('h3', {}, p.title),
      h('p', { class: 'meta' }, [p.buildings.join('、'), L('{n} 件诉求', '{n} petitions', { n: p.petition_count }),
        L('{n} 人支持', '{n} supporters', { n: p.supporters }), money(p)].join(' · '))));
}

export async function projectsPage() {
  const status = new URLSearchParams(location.hash.split('?')[1] || '').get('status') || '';
  const resident = is.resident() && !is.community() && !is.admin();
  const page = await get('/projects', {
    status, page_size: 50, building_id: resident ? state.me.scope : undefined, community: is.community() ? community() : undefined,
  });
  return h('section', {},
    pageHeader(L('微项目', 'Micro-projects'),
      select([{ value: '', label: L('全部状态', 'Every status') }, ...Object.keys(STATUS).map((s) => ({ value: s, label: tr(STATUS, s) }))],
        { value: status, 'aria-label': L('状态', 'Status'), onchange: (e) => { location.hash = '#/projects' + (e.target.value ? `?status=${e.target.value}` : ''); } }),
      is.community() || is.admin() ? link('#/projects/new', L('+ 发起微项目', '+ New project'), { class: 'button primary' }) : null),
    h('p', { class: 'lead' }, resident
      ? L('影响您所在楼栋的微项目：您可以点支持、留言。', 'Projects affecting your building: support them and comment.')
      : L('把居民反复反映的问题立为微项目；完工后，关联的诉求一并办结。', 'Recurring problems become one project; once done, its petitions are resolved together.')),
    page.items.length ? h('div', { class: 'cards' }, page.items.map(projectCard)) : empty(L('还没有微项目。', 'No projects yet.')));
}

// -- proposing one ---------------------------------------------------------------------------

export async function newProjectPage() {
  const chosen = idList(new URLSearchParams(location.hash.split('?')[1] || '').get('petitions'));
  const [page, cats] = await Promise.all([
    get('/petitions', { page_size: 100, node: is.community() ? community() : undefined }),
    categories().catch(() => []),
  ]);
  const listed = page.items.filter((p) => OPEN_PETITION.includes(p.status));
  const missing = chosen.filter((id) => !listed.some((p) => p.id === id));
  const extra = await Promise.all(missing.map((id) => get(`/petitions/${encodeURIComponent(id)}`).catch(() => null)));
  const petitions = [...extra.filter(Boolean), ...listed];
  const created = (p) => { toast(L('已发起，等待区管理员审批', 'Proposed: waiting for the district’s approval')); open(p.id); };

  const fromPetitions = form({
    submit: L('发起微项目', 'Propose'), className: 'from-petitions',
    children: [...projectFields(),
      field({ name: 'petition_ids', label: L('关联诉求', 'Petitions'), required: true,
        control: petitions.length ? h('fieldset', { class: 'choices column' }, petitions.map((p) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', name: 'petition_ids', value: p.id, checked: chosen.includes(p.id) }),
          `${p.id} ${p.title}（${p.building_id} · ${term('status', p.status)}）`)))
          : h('p', { class: 'hint' }, L('您的辖区暂时没有未办结的诉求。', 'No open petitions in your area.')) }),
    ],
    action: async (el) => {
      const picked = [...el.querySelectorAll('[name=petition_ids]')].filter((c) => c.checked).map((c) => c.value);
      created(await post('/projects', { ...projectBody(el), petition_ids: picked }));
    },
  });
  const fromHotspot = form({
    submit: L('发起微项目', 'Propose'), className: 'from-hotspot',
    children: [...projectFields(),
      field({ name: 'hotspot.category', label: L('问题类别', 'Category'), required: true, control: select(
        [{ value: '', label: L('请选择', 'Choose') }, ...cats.map((c) => ({ value: c.category, label: c.name }))], { name: 'category' }) }),
      h('div', { class: 'row2' },
        field({ name: 'hotspot.building_id', label: L('楼栋编号', 'Building'), control: input({ name: 'building_id', autocapitalize: 'none', placeholder: 'b28' }),
          hint: L('楼栋或网格，二选一', 'A building or a grid') }),
        field({ name: 'hotspot.grid_id', label: L('网格编号', 'Grid'), control: input({ name: 'grid_id', autocapitalize: 'none' }) })),
    ],
    action: async (el) => {
      const hotspot = { category: value(el, 'category') };
      for (const name of ['building_id', 'grid_id']) if (value(el, name).trim()) hotspot[name] = value(el, name).trim();
      created(await post('/projects', { ...projectBody(el), hotspot }));
    },
  });
  return h('section', {},
    h('a', { class: 'back', href: '#/projects' }, L('‹ 微项目', '‹ Projects')),
    pageHeader(L('发起微项目', 'New micro-project')),
    h('div', { class: 'grid2' },
      h('div', { class: 'card', dataset: { source: 'petitions' } }, h('h2', {}, L('从选定的诉求', 'From chosen petitions')), fromPetitions),
      h('div', { class: 'card', dataset: { source: 'hotspot' } }, h('h2', {}, L('从热点：同一类问题', 'From a hotspot: one kind of problem')),
        h('p', { class: 'hint' }, L('关联该楼栋或网格内这一类别所有未办结的诉求（最多 200 件）。', 'Links the open petitions of the category there (at most 200).')),
        fromHotspot)));
}

// -- one project ------------------------------------------------------------------------------

function actionBox(action, title, content, lead) {
  return h('div', { class: 'card action', dataset: { action } }, h('h2', {}, title), lead ? h('p', { class: 'hint' }, lead) : null, content);
}

function moveForm(p, status, submit, message, rerender, { noteLabel, required } = {}) {
  return form({
    submit,
    children: [field({ name: 'note', label: noteLabel || L('备注', 'Note'), required, control: input({ name: 'note', maxlength: 500 }) })],
    action: async (el) => {
      const note = value(el, 'note').trim();
      await post(`/projects/${encodeURIComponent(p.id)}/transition`, note ? { status, note } : { status });
      toast(message);
      rerender();
    },
  });
}

function staffActions(p, rerender) {
  const out = [];
  if (p.status === 'proposed' && is.admin()) {
    out.push(actionBox('approve', L('审批', 'Approve'), moveForm(p, 'approved', L('审批通过', 'Approve'), L('已立项', 'Approved'), rerender),
      L('立项需有预算和出资单位。', 'A budget and a sponsor unit are needed.')));
  } else if (p.status === 'proposed') {
    out.push(h('p', { class: 'notice muted' }, L('已发起，等待区管理员审批。', 'Proposed: the district administrator approves it.')));
  }
  if (p.status === 'approved') out.push(actionBox('start', L('开始实施', 'Start'), moveForm(p, 'in_progress', L('开始实施', 'Start'), L('已开始实施', 'Started'), rerender)));
  if (p.status === 'in_progress') {
    out.push(actionBox('done', L('完工', 'Mark done'), moveForm(p, 'done', L('完工', 'Done'), L('已完工，请一并办结关联诉求', 'Done: now resolve its petitions'), rerender)));
  }
  if (p.status === 'done') {
    out.push(actionBox('resolve', L('关联诉求一并办结', 'Resolve its petitions together'), form({
      submit: L('一并办结', 'Resolve together'),
      children: [field({ name: 'note', label: L('办理说明（居民会看到并评价）', 'What was done (residents see it and rate)'), required: true,
        control: textarea({ name: 'note', rows: 3, maxlength: 2000 }) })],
      action: async (el) => {
        const answer = await post(`/projects/${encodeURIComponent(p.id)}/resolve-petitions`, { note: value(el, 'note').trim() });
        results.set(p.id, answer);
        toast(L('已办结 {n} 件', '{n} resolved', { n: answer.resolved.length }));
        rerender();
      },
    }), L('每件未办结的诉求各自办结，居民收到通知并评价；已归档或在部门办理的会列出原因。',
      'Each open petition is resolved on its own and its resident asked to rate; the others are listed with the reason.')));
  }
  if (p.status === 'proposed' || p.status === 'approved') {
    out.push(h('details', { class: 'card action subtle', dataset: { action: 'cancel' } }, h('summary', {}, L('取消项目', 'Cancel the project')),
      moveForm(p, 'cancelled', L('确认取消', 'Cancel it'), L('已取消，关联诉求可加入其他项目', 'Cancelled: its petitions are free again'), rerender,
        { noteLabel: L('取消原因', 'Reason'), required: true })));
  }
  if (OPEN.includes(p.status)) {
    out.push(h('details', { class: 'card action subtle', dataset: { action: 'edit' } }, h('summary', {}, L('修改项目', 'Edit the project')),
      form({
        submit: L('保存', 'Save'),
        children: [...projectFields(p),
          field({ name: 'buildings', label: L('影响楼栋', 'Buildings affected'), control: input({ name: 'buildings', value: p.buildings.join(', '), autocapitalize: 'none' }),
            hint: L('楼栋编号，用逗号分开；这些楼栋的居民可以支持', 'Building ids, comma-separated: their residents may support it') }),
          field({ name: 'add_petition_ids', label: L('再关联诉求', 'Link more petitions'), control: input({ name: 'add_petition_ids', autocapitalize: 'none', placeholder: 'hb-000001, hb-000002' }) }),
        ],
        action: async (el) => {
          const body = projectBody(el);
          const buildings = idList(value(el, 'buildings'));
          const more = idList(value(el, 'add_petition_ids'));
          const changes = Object.fromEntries(Object.entries(body).filter(([k, v]) => v !== (p[k] ?? '')));
          if (buildings.join() !== p.buildings.join()) changes.buildings = buildings;
          if (more.length) changes.add_petition_ids = more;
          await patch(`/projects/${encodeURIComponent(p.id)}`, changes);
          toast(L('已保存', 'Saved'));
          rerender();
        },
      })));
  }
  return out;
}

function supportBox(p, rerender) {
  if (!is.resident() || !p.buildings.includes(state.me.scope) || !OPEN.includes(p.status)) return null;
  return h('div', { class: 'card support' },
    h('p', {}, p.supported_by_me ? L('您已支持这个项目。', 'You support this project.') : L('这个项目影响您住的楼栋，您支持吗？', 'It affects your building: do you support it?')),
    h('button', {
      type: 'button', class: p.supported_by_me ? 'secondary' : 'primary', 'data-testid': 'support', disabled: p.supported_by_me,
      onclick: async (e) => {
        e.currentTarget.disabled = true;
        try { await post(`/projects/${encodeURIComponent(p.id)}/support`); toast(L('感谢支持！', 'Thank you for your support!')); rerender(); } catch (err) { toast(describeError(err), 'error'); }
      },
    }, p.supported_by_me ? L('已支持（{n}）', 'Supported ({n})', { n: p.supporters }) : L('支持（{n}）', 'Support ({n})', { n: p.supporters })));
}

function resolutionCard(p) {
  const answer = results.get(p.id);
  if (!p.resolution && !answer) return null;
  const row = (x, why) => h('li', { dataset: { id: x.id, reason: x.reason || '' } }, h('div', {}, h('a', { href: `#/p/${x.id}` }, x.id), ' ', x.title || '',
    why ? h('span', { class: 'meta' }, ` — ${tr(REASON, x.reason)}${x.message ? `（${x.message}）` : ''}`) : null));
  const done = answer ? [...answer.resolved, ...answer.already_resolved] : p.resolution.resolved.map((id) => ({ id }));
  const left = answer ? answer.not_resolved : p.resolution.not_resolved;
  return h('div', { class: 'card resolution' }, h('h2', {}, L('一并办结', 'Resolved together')),
    p.resolution ? h('p', {}, p.resolution.note) : null,
    h('h3', {}, L('已办结 {n} 件（等待居民评价）', '{n} resolved (waiting for the residents’ ratings)', { n: done.length })),
    h('ul', { class: 'plain resolved' }, done.map((x) => row(x, false))),
    left.length ? [h('h3', {}, L('未能办结 {n} 件', '{n} not resolved', { n: left.length })),
      h('ul', { class: 'plain not-resolved' }, left.map((x) => row(x, true)))] : null);
}

function commentsCard(p, page, rerender) {
  const mine = is.resident() && p.buildings.includes(state.me.scope);
  const canComment = mine || runs(p) || is.grid();
  return h('div', { class: 'card comments' }, h('h2', {}, L('居民留言', 'Comments'), h('span', { class: 'count plain' }, String(page.total))),
    canComment ? form({
      submit: L('留言', 'Comment'),
      children: [field({ name: 'text', label: L('说说您的看法', 'Your comment'), required: true, control: textarea({ name: 'text', rows: 2, maxlength: 500 }) })],
      action: async (el) => { await post(`/projects/${encodeURIComponent(p.id)}/comments`, { text: value(el, 'text').trim() }); toast(L('已留言', 'Comment posted')); rerender(); },
    }) : null,
    page.items.length ? h('ul', { class: 'plain comment-list' }, page.items.map((c) => h('li', { dataset: { id: c.id } }, h('div', {},
      h('div', { class: 'meta' }, `${c.author_name || c.author_id}（${term('role', c.role)}）· ${fmtTime(c.at)}`), h('p', {}, c.text)))))
      : h('p', { class: 'hint' }, L('还没有留言。', 'No comments yet.')));
}

export async function projectPage({ id }, ctx) {
  const path = `/projects/${encodeURIComponent(id)}`;
  let p;
  try { p = await get(path); } catch (err) { return h('section', {}, pageHeader(id), errorBox(err)); }
  const page = await get(`${path}/comments`, { page_size: 50 }).catch(() => ({ items: [], total: 0 }));
  const origin = p.origin && p.origin.kind === 'hotspot'
    ? L('热点：{c} · {n}（{m} 件）', 'Hotspot: {c} · {n} ({m})', { c: p.origin.category, n: p.origin.building_id || p.origin.grid_id, m: p.origin.matched })
    : L('选定的诉求', 'Chosen petitions');
  return h('section', { class: 'detail project', dataset: { id: p.id, status: p.status } },
    h('a', { class: 'back', href: '#/projects' }, L('‹ 微项目', '‹ Projects')),
    pageHeader(p.title),
    h('div', { class: 'pcard-top' }, h('span', { class: 'pid' }, p.id), badge(p.status),
      h('span', { class: 'meta', 'data-testid': 'supporters' }, L('{n} 人支持', '{n} supporters', { n: p.supporters }))),
    h('div', { class: 'columns' },
      h('div', { class: 'col-main' },
        h('div', { class: 'card' },
          p.description ? h('p', { class: 'description' }, p.description) : null,
          facts([
            [L('社区', 'Community'), p.community], [L('影响楼栋', 'Buildings'), p.buildings.join('、')],
            [L('预算', 'Budget'), money(p)], [L('出资/承办单位', 'Sponsor'), p.sponsor || L('待定', 'not set')],
            [L('关联诉求', 'Petitions'), String(p.petition_count)], [L('来源', 'From'), origin],
            [L('发起人', 'Proposed by'), p.created_by], [L('发起时间', 'Proposed'), fmtTime(p.created_at)],
          ])),
        supportBox(p, ctx.rerender),
        resolutionCard(p),
        runs(p) ? h('div', { class: 'actions' }, staffActions(p, ctx.rerender)) : null,
        p.petitions && p.petitions.length ? h('div', { class: 'card' }, h('h2', {}, L('关联诉求', 'Linked petitions')),
          h('ul', { class: 'plain linked' }, p.petitions.map((x) => h('li', { dataset: { id: x.id, status: x.status } }, h('div', {},
            h('a', { href: `#/p/${x.id}` }, x.id), ' ', x.title, h('span', { class: 'meta' }, ` · ${x.building_id}`)), statusBadge(x.status))))) : null,
        commentsCard(p, page, ctx.rerender)),
      h('div', { class: 'col-side' },
        h('div', { class: 'card' }, h('h2', {}, L('项目进度', 'Timeline')),
          h('ol', { class: 'timeline' }, p.timeline.map((e) => h('li', { dataset: { action: e.action } },
            h('span', { class: 'dot', 'aria-hidden': 'true' }),
            h('div', {}, h('strong', {}, tr(ACTION, e.action)),
              h('span', { class: 'meta' }, ` ${e.actor}（${term('role', e.role)}）· ${fmtTime(e.at)}`),
              e.note ? h('p', { class: 'note' }, e.note) : null))))))));
}
