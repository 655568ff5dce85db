// Micro-wishes (微心愿): a resident posts and confirms; party members, volunteers and organisations adopt and
// fulfil; community staff keep the board (flagged wishes first), post for residents and confirm for them.
import { get, post } from '../api.js';
import { describeError } from '../errors.js';
import { L } from '../i18n.js';
import { hasRole, state } from '../state.js';
import { empty, field, fmtDate, fmtTime, form, h, input, pageHeader, photos, textarea, toast, urlList, value } from '../ui.js';

const WISH_STATUS = {
  open: ['待认领', 'Waiting'], adopted: ['已认领', 'Adopted'], fulfilled: ['待确认', 'To confirm'],
  confirmed: ['已圆梦', 'Came true'], withdrawn: ['已撤回', 'Withdrawn'], expired: ['已过期', 'Expired'],
};

function badge(status) {
  const row = WISH_STATUS[status];
  return h('span', { class: `badge st-${status}` }, row ? L(row[0], row[1]) : status);
}

function localToday(days = 0) {
  const d = new Date(Date.now() + days * 86400e3 + 8 * 3600e3); // 河边镇's day (UTC+8)
  return d.toISOString().slice(0, 10);
}

function adopterText(w) {
  if (!w.adopter) return null;
  return w.adopter.kind === 'organisation'
    ? L('认领：{o}（{p}）', 'Adopted by {o} ({p})', { o: w.adopter.organisation_name, p: w.adopter.name })
    : L('认领：{p}', 'Adopted by {p}', { p: w.adopter.name || w.adopter.user_id });
}

async function act(button, path, body, done, after) {
  button.disabled = true;
  try {
    await post(path, body);
    toast(done);
    after();
  } catch (err) { toast(describeError(err), 'error'); button.disabled = false; }
}

function wishCard(w, actions) {
  return h('article', { class: `pcard wish${w.flagged && w.status === 'open' ? ' is-overdue' : ''}`, dataset: { id: w.id, status: w.status } },
    h('div', { class: 'pcard-main' },
      h('div', { class: 'pcard-top' }, badge(w.status),
        w.flagged && w.status === 'open' ? h('span', { class: 'badge warn', 'data-testid': 'flagged' }, L('久未认领', 'Waiting long')) : null,
        w.late ? h('span', { class: 'badge warn' }, L('已过期望日期', 'Past its day')) : null,
        h('span', { class: 'meta' }, w.id)),
      h('h3', {}, w.title),
      h('p', { class: 'meta' }, w.reason),
      h('p', { class: 'meta' }, [
        L('{d} 前', 'by {d}', { d: fmtDate(w.wanted_by) }), w.resident_name || w.resident_id, w.building_id,
        w.on_behalf ? L('工作人员代发', 'posted by staff') : null, adopterText(w),
        w.points != null && w.status === 'confirmed' ? L('{p} 积分', '{p} points', { p: w.points }) : null,
      ].filter(Boolean).join(' · ')),
      photos(w.media),
      w.fulfilment ? h('p', { class: 'meta fulfilment' }, L('完成情况：{n}', 'Done: {n}', { n: w.fulfilment.note }), ' · ', fmtTime(w.fulfilment.at)) : null,
      w.fulfilment ? photos(w.fulfilment.media) : null),
    actions && actions.length ? h('div', { class: 'pcard-actions' }, actions) : null);
}

function wishForm(ctx, forResident) {
  return form({
    submit: forResident ? L('代居民发布', 'Post for the resident') : L('发布心愿', 'Post my wish'),
    children: [
      forResident ? field({ name: 'resident_id', label: L('居民账号', 'Resident’s username'), required: true, control: input({ name: 'resident_id', autocapitalize: 'none' }) }) : null,
      field({ name: 'title', label: L('心愿是什么', 'What is the wish?'), required: true, control: input({ name: 'title', maxlength: 120, placeholder: L('如：给孙子买一个新书包', 'e.g. A new school bag for my grandson') }) }),
      field({ name: 'reason', label: L('为什么需要', 'Why'), required: true, control: textarea({ name: 'reason', rows: 2, maxlength: 2000 }) }),
      field({ name: 'wanted_by', label: L('希望在哪天前实现', 'Wanted by'), required: true, control: input({ name: 'wanted_by', type: 'date', min: localToday(), value: localToday(14) }) }),
      field({ name: 'media', label: L('照片网址', 'Photo links'), control: textarea({ name: 'media', rows: 2, inputmode: 'url', autocapitalize: 'none', placeholder: 'https://…' }),
        hint: L('每行一个网址，最多 9 张。', 'One link per line, at most 9.') }),
    ],
    action: async (el) => {
      const body = { title: value(el, 'title').trim(), reason: value(el, 'reason').trim(), wanted_by: value(el, 'wanted_by'), media: urlList(value(el, 'media')) };
      if (forResident) body.resident_id = value(el, 'resident_id').trim();
      await post('/wishes', body);
      toast(L('心愿已发布，等待认领', 'Posted: it waits for someone to adopt it'));
      ctx.rerender();
    },
  });
}

// -- the resident ------------------------------------------------------------------------------

export async function wishesPage(params, ctx) {
  const page = await get('/wishes', { page_size: 50 });
  const actions = (w) => [
    w.status === 'fulfilled' ? h('button', { type: 'button', class: 'primary small', dataset: { action: 'confirm' },
      onclick: (e) => act(e.currentTarget, `/wishes/${encodeURIComponent(w.id)}/confirm`, {}, L('已确认，谢谢！', 'Confirmed: thank you!'), ctx.rerender) }, L('确认已实现', 'Confirm it came true')) : null,
    w.status === 'open' ? h('button', { type: 'button', class: 'secondary small', dataset: { action: 'withdraw' },
      onclick: (e) => act(e.currentTarget, `/wishes/${encodeURIComponent(w.id)}/withdraw`, {}, L('已撤回', 'Withdrawn'), ctx.rerender) }, L('撤回', 'Withdraw')) : null,
  ].filter(Boolean);
  return h('section', {},
    pageHeader(L('微心愿', 'Micro-wishes')),
    h('p', { class: 'lead' }, L('说出您的小心愿，社区的党员、志愿者和驻区单位会认领帮您实现。', 'Tell your community a small wish: party members, volunteers and local organisations adopt and fulfil it.')),
    h('div', { class: 'card' }, wishForm(ctx, false)),
    h('h2', {}, L('我的心愿', 'My wishes')),
    page.items.length ? h('div', { class: 'cards' }, page.items.map((w) => wishCard(w, actions(w)))) : empty(L('还没有心愿。', 'No wishes yet.')));
}

// -- party members, volunteers, organisations --------------------------------------------------

function fulfilForm(w, ctx) {
  return form({
    submit: L('标记已完成', 'Mark as done'), className: 'inline-form',
    children: [
      field({ name: 'note', label: L('做了什么', 'What was done'), required: true, control: input({ name: 'note', maxlength: 500 }) }),
      field({ name: 'media', label: L('照片网址', 'Photo links'), control: textarea({ name: 'media', rows: 1, inputmode: 'url', autocapitalize: 'none' }) }),
    ],
    action: async (el) => {
      await post(`/wishes/${encodeURIComponent(w.id)}/fulfil`, { note: value(el, 'note').trim(), media: urlList(value(el, 'media')) });
      toast(L('已完成，等待居民确认', 'Done: the resident is asked to confirm'));
      ctx.rerender();
    },
  });
}

export async function adoptPage(params, ctx) {
  const me = state.me;
  if (!me.community) return h('section', {}, pageHeader(L('认领心愿', 'Adopt a wish')), empty(L('您还没有所属社区。', 'You belong to no community yet.')));
  const [open, mine] = await Promise.all([
    get(`/communities/${encodeURIComponent(me.community)}/wishes`, { status: 'open', page_size: 50 }),
    get('/wishes', { view: 'adopted', page_size: 50 })]);
  const person = hasRole('party_member', 'volunteer');
  const unit = hasRole('organisation_member') && me.organisation;
  const adopt = (w, as) => (e) => act(e.currentTarget, `/wishes/${encodeURIComponent(w.id)}/adopt`, as ? { adopter: as } : {},
    L('认领成功，请尽快联系居民', 'Adopted: get in touch with the resident soon'), ctx.rerender);
  const buttons = (w) => [
    person ? h('button', { type: 'button', class: 'primary small', dataset: { action: 'adopt' }, onclick: adopt(w, 'person') }, L('我来认领', 'I’ll adopt it')) : null,
    unit ? h('button', { type: 'button', class: person ? 'secondary small' : 'primary small', dataset: { action: 'adopt-organisation' }, onclick: adopt(w, 'organisation') }, L('以单位名义认领', 'Adopt for my organisation')) : null,
  ].filter(Boolean);
  const working = mine.items.filter((w) => w.status === 'adopted');
  const done = mine.items.filter((w) => w.status !== 'adopted');
  return h('section', {},
    pageHeader(L('认领心愿', 'Adopt a wish')),
    h('p', { class: 'lead' }, L('认领居民的微心愿并帮助实现；居民确认后获得积分（单位认领的积分记入单位账户）。', 'Adopt a resident’s wish and make it come true; once they confirm you earn points (an organisation’s go to its account).')),
    h('h2', {}, L('待认领的心愿', 'Waiting to be adopted')),
    open.items.length ? h('div', { class: 'cards', 'data-list': 'open' }, open.items.map((w) => wishCard(w, buttons(w)))) : empty(L('社区暂时没有待认领的心愿。', 'No wishes are waiting.')),
    h('h2', {}, L('我认领的', 'Adopted by me')),
    working.length ? h('div', { class: 'cards', 'data-list': 'adopted' }, working.map((w) => wishCard(w, [fulfilForm(w, ctx)]))) : empty(L('还没有正在办理的心愿。', 'Nothing in hand.')),
    done.length ? h('div', { class: 'cards', 'data-list': 'done' }, done.map((w) => wishCard(w))) : null);
}

// -- community staff ---------------------------------------------------------------------------

export async function staffWishesPage(params, ctx) {
  const page = await get(`/communities/${encodeURIComponent(state.me.scope)}/wishes`, { page_size: 100 });
  const actions = (w) => [
    w.status === 'fulfilled' ? h('button', { type: 'button', class: 'secondary small', dataset: { action: 'confirm' },
      onclick: (e) => act(e.currentTarget, `/wishes/${encodeURIComponent(w.id)}/confirm`, { note: L('社区回访确认', 'Confirmed by the community') },
        L('已代居民确认', 'Confirmed for the resident'), ctx.rerender) }, L('回访后代为确认', 'Confirm for the resident')) : null,
  ].filter(Boolean);
  const flagged = page.items.filter((w) => w.flagged && w.status === 'open').length;
  return h('section', {},
    pageHeader(L('心愿台账', 'Wishes board')),
    h('p', { class: 'lead' }, flagged
      ? L('{n} 个心愿久未认领，已排在最前，请联系党员、志愿者或驻区单位。', '{n} wishes have waited long: they come first; find someone to adopt them.', { n: flagged })
      : L('社区的全部微心愿；久未认领的排在最前。', 'All the community’s micro-wishes; those waiting long come first.')),
    h('details', { class: 'card' }, h('summary', {}, L('代居民发布心愿', 'Post a wish for a resident')), wishForm(ctx, true)),
    page.items.length ? h('div', { class: 'cards' }, page.items.map((w) => wishCard(w, actions(w)))) : empty(L('还没有心愿。', 'No wishes yet.')));
}
