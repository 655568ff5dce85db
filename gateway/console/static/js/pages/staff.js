// Community staff: activities and check-in, claim approvals, the shop's stock and pickups, broadcasts.
import { get, patch, post } from '../api.js';
import { L } from '../i18n.js';
import { is, state } from '../state.js';
import {
  empty, field, fmtTime, form, h, input, pageHeader, photos, select, textarea, toast, value,
} from '../ui.js';
import { describeError } from '../errors.js';
import { ACTIVITY_STATUS, CLAIM_STATUS, ORDER_STATUS, activityFacts, badge, priceText } from './shop.js';

const community = () => state.me.community || state.me.scope;

/** A number typed in a form: the number when it is one, else the text (the API names what is wrong). */
function num(el, name) {
  const v = String(value(el, name) ?? '').trim();
  if (v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

/** datetime-local -> ISO with the browser's offset, so the service gets an aware time. */
function when(el, name) {
  const v = value(el, name);
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

function clean(body) {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== ''));
}

async function quick(button, run, message, after) {
  button.disabled = true;
  try { await run(); toast(message); after(); } catch (err) { toast(describeError(err), 'error'); button.disabled = false; }
}

// -- activities and check-in ---------------------------------------------------------------

function checkInForm(a, after) {
  const attended = new Set((a.attendance || []).map((x) => x.user_id));
  const waiting = (a.signups || []).filter((s) => !attended.has(s.user_id));
  if (!waiting.length) return null;
  return form({
    submit: L('签到', 'Check in'), className: 'checkin',
    children: [field({ name: 'user_ids', label: L('到场的人', 'Who came'),
      control: h('fieldset', { class: 'choices' }, waiting.map((s) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'user_ids', value: s.user_id }), s.name || s.user_id))) })],
    action: async (el) => {
      const ids = [...el.querySelectorAll('[name=user_ids]')].filter((c) => c.checked).map((c) => c.value);
      const answer = await post(`/activities/${encodeURIComponent(a.id)}/check-ins`, { user_ids: ids });
      const earned = answer.results.reduce((sum, r) => sum + (r.points || 0), 0);
      toast(L('已签到 {n} 人，共发放 {p} 积分', '{n} checked in, {p} points given', { n: answer.results.length, p: earned }));
      after();
    },
  });
}

function activityCard(a, after) {
  const names = Object.fromEntries((a.signups || []).map((x) => [x.user_id, x.name || x.user_id]));
  const people = (list) => (list || []).map((x) => names[x.user_id] || x.name || x.user_id).join('、') || '—';
  const cancel = a.status === 'open' && !(a.attendance || []).length ? h('details', { class: 'subtle' },
    h('summary', {}, L('取消活动', 'Cancel the activity')),
    form({
      submit: L('确认取消', 'Cancel it'),
      children: [field({ name: 'reason', label: L('取消原因', 'Reason'), required: true, control: input({ name: 'reason', maxlength: 500 }) })],
      action: async (el) => { await post(`/activities/${encodeURIComponent(a.id)}/cancel`, { reason: value(el, 'reason').trim() }); toast(L('已取消，报名者会收到通知', 'Cancelled: those signed up are told')); after(); },
    })) : null;
  return h('article', { class: 'card activity', dataset: { id: a.id, status: a.status } },
    h('div', { class: 'pcard-top' }, badge(ACTIVITY_STATUS, a.status)),
    h('h3', {}, a.title), activityFacts(a),
    h('dl', { class: 'facts' },
      h('dt', {}, L('已报名', 'Signed up')), h('dd', {}, people(a.signups)),
      h('dt', {}, L('已签到', 'Checked in')), h('dd', { 'data-testid': 'attended' }, people(a.attendance))),
    a.status === 'open' ? checkInForm(a, after) : null,
    cancel);
}

export async function staffActivitiesPage(params, ctx) {
  const c = community();
  const page = await get(`/communities/${encodeURIComponent(c)}/activities`, { page_size: 30 });
  // the list leaves out who signed up; each activity's own page has them
  const full = await Promise.all(page.items.map((a) => get(`/activities/${encodeURIComponent(a.id)}`).catch(() => a)));
  const create = form({
    submit: L('发布活动', 'Publish'),
    children: [
      field({ name: 'title', label: L('活动名称', 'Title'), required: true, control: input({ name: 'title', maxlength: 120 }) }),
      field({ name: 'place', label: L('地点', 'Place'), required: true, control: input({ name: 'place', maxlength: 200 }) }),
      h('div', { class: 'row2' },
        field({ name: 'starts_at', label: L('开始时间', 'Starts'), required: true, control: input({ name: 'starts_at', type: 'datetime-local' }) }),
        field({ name: 'ends_at', label: L('结束时间', 'Ends'), control: input({ name: 'ends_at', type: 'datetime-local' }) })),
      h('div', { class: 'row2' },
        field({ name: 'capacity', label: L('名额', 'Places'), required: true, control: input({ name: 'capacity', type: 'number', min: 1, step: 1, inputmode: 'numeric' }) }),
        field({ name: 'points', label: L('每人积分', 'Points each'), control: input({ name: 'points', type: 'number', min: 0, step: 1, inputmode: 'numeric' }),
          hint: L('不填按积分规则', 'Empty: the district’s rule') })),
      field({ name: 'description', label: L('说明', 'Description'), control: textarea({ name: 'description', rows: 2, maxlength: 2000 }) }),
    ],
    action: async (el) => {
      await post(`/communities/${encodeURIComponent(c)}/activities`, clean({
        title: value(el, 'title').trim(), place: value(el, 'place').trim(), description: value(el, 'description').trim(),
        starts_at: when(el, 'starts_at'), ends_at: when(el, 'ends_at'), capacity: num(el, 'capacity'), points: num(el, 'points'),
      }));
      toast(L('活动已发布', 'Activity published'));
      ctx.rerender();
    },
  });
  return h('section', {},
    pageHeader(L('活动与签到', 'Activities & check-in')),
    h('details', { class: 'card', open: !full.length }, h('summary', { class: 'h2' }, L('发布新活动', 'New activity')), create),
    full.length ? h('div', { class: 'cards' }, full.map((a) => activityCard(a, ctx.rerender))) : empty(L('还没有活动。', 'No activities yet.')));
}

// -- claim approvals ----------------------------------------------------------------------

function claimCard(c, after) {
  const decide = c.status === 'pending' ? h('div', { class: 'grid2' },
    form({
      submit: L('通过', 'Approve'), className: 'approve',
      children: [field({ name: 'note', label: L('备注', 'Note'), control: input({ name: 'note', maxlength: 500 }) })],
      action: async (el) => {
        const note = value(el, 'note').trim();
        const done = await post(`/claims/${encodeURIComponent(c.id)}/approve`, note ? { note } : {});
        toast(L('已通过，发放 {p} 积分', 'Approved: {p} points', { p: done.points }));
        after();
      },
    }),
    form({
      submit: L('不通过', 'Reject'), className: 'reject',
      children: [field({ name: 'reason', label: L('原因', 'Reason'), required: true, control: input({ name: 'reason', maxlength: 500 }) })],
      action: async (el) => { await post(`/claims/${encodeURIComponent(c.id)}/reject`, { reason: value(el, 'reason').trim() }); toast(L('已驳回', 'Rejected')); after(); },
    })) : null;
  return h('article', { class: 'card claim', dataset: { id: c.id, status: c.status } },
    h('div', { class: 'pcard-top' }, badge(CLAIM_STATUS, c.status), h('span', { class: 'meta' }, `${c.user_id} · ${fmtTime(c.created_at)}`)),
    h('h3', {}, c.title), c.description ? h('p', {}, c.description) : null, photos(c.media),
    c.status === 'approved' ? h('p', { class: 'meta' }, L('发放 {p} 积分', '{p} points given', { p: c.points })) : null,
    c.reason ? h('p', { class: 'meta' }, L('原因：{r}', 'Reason: {r}', { r: c.reason })) : null,
    decide);
}

export async function staffClaimsPage(params, ctx) {
  const status = new URLSearchParams(location.hash.split('?')[1] || '').get('status') ?? 'pending';
  const page = await get('/claims', { status: status || undefined, page_size: 50 });
  return h('section', {},
    pageHeader(L('申报审核', 'Claim approvals'),
      select([{ value: 'pending', label: L('待审核', 'Waiting') }, { value: 'approved', label: L('已通过', 'Approved') },
        { value: 'rejected', label: L('未通过', 'Rejected') }, { value: '', label: L('全部', 'All') }],
      { value: status, 'aria-label': L('筛选', 'Filter'), onchange: (e) => { location.hash = `#/staff/claims?status=${e.target.value}`; } })),
    h('p', { class: 'lead' }, L('居民自主申报的好人好事，通过后按积分规则发放积分。', 'Good deeds residents declared; approving gives points by the district’s rules.')),
    page.items.length ? h('div', { class: 'cards' }, page.items.map((c) => claimCard(c, ctx.rerender))) : empty(L('没有需要审核的申报。', 'Nothing to review.')));
}

// -- the shop: items, stock, pickups ---------------------------------------------------------

function stockRow(item, after) {
  const toggle = h('button', {
    type: 'button', class: 'secondary small',
    onclick: (e) => quick(e.currentTarget, () => patch(`/shop/items/${encodeURIComponent(item.id)}`, { active: !item.active }),
      item.active ? L('已下架', 'Taken off the shelf') : L('已上架', 'On offer again'), after),
  }, item.active ? L('下架', 'Take off') : L('上架', 'Offer'));
  const stock = form({
    submit: L('调整库存', 'Change stock'), className: 'inline-form', secondary: toggle,
    children: [field({ name: 'change', label: L('入库（正数）或核销（负数）', 'Add (positive) or write off (negative)'),
      control: input({ name: 'change', type: 'number', step: 1, inputmode: 'numeric' }) })],
    action: async (el) => {
      await post(`/shop/items/${encodeURIComponent(item.id)}/stock`, { change: num(el, 'change') });
      toast(L('库存已更新', 'Stock updated'));
      after();
    },
  });
  return h('article', { class: 'card item-admin', dataset: { id: item.id } },
    h('div', { class: 'pcard-top' }, h('strong', {}, item.name), item.active ? null : h('span', { class: 'badge' }, L('已下架', 'Off the shelf'))),
    h('p', { class: 'meta' }, priceText(item.price), ' · ', h('span', { 'data-testid': 'stock' }, L('库存 {n}', 'stock {n}', { n: item.stock })),
      ' · ', L('待领 {r} · 已领 {s}', 'reserved {r} · picked up {s}', { r: item.reserved || 0, s: item.sold || 0 })),
    stock);
}

export async function staffShopPage(params, ctx) {
  const [items, orders] = await Promise.all([get('/shop/items'), get('/orders', { status: 'reserved', page_size: 100 })]);
  const create = form({
    submit: L('上架商品', 'Add to the shop'),
    children: [
      field({ name: 'name', label: L('商品名称', 'Name'), required: true, control: input({ name: 'name', maxlength: 120 }) }),
      h('div', { class: 'row2' },
        field({ name: 'price', label: L('所需积分', 'Price (points)'), required: true, control: input({ name: 'price', type: 'number', min: 1, step: 1, inputmode: 'numeric' }) }),
        field({ name: 'stock', label: L('库存', 'Stock'), required: true, control: input({ name: 'stock', type: 'number', min: 0, step: 1, inputmode: 'numeric' }) })),
      field({ name: 'per_person_limit', label: L('每人限兑', 'Limit per person'), control: input({ name: 'per_person_limit', type: 'number', min: 1, step: 1, inputmode: 'numeric' }) }),
      field({ name: 'image_url', label: L('图片网址', 'Picture link'), control: input({ name: 'image_url', type: 'url', inputmode: 'url', autocapitalize: 'none', placeholder: 'https://…' }) }),
      field({ name: 'description', label: L('说明', 'Description'), control: textarea({ name: 'description', rows: 2, maxlength: 2000 }) }),
    ],
    action: async (el) => {
      await post('/shop/items', clean({
        name: value(el, 'name').trim(), price: num(el, 'price'), stock: num(el, 'stock'), per_person_limit: num(el, 'per_person_limit'),
        image_url: value(el, 'image_url').trim() || undefined, description: value(el, 'description').trim(),
      }));
      toast(L('已上架', 'Added'));
      ctx.rerender();
    },
  });
  const pickups = orders.items.length ? h('ul', { class: 'plain pickups' }, orders.items.map((o) => h('li', { dataset: { id: o.id } },
    h('div', {}, h('strong', {}, `${o.item_name} × ${o.quantity}`), ' ', badge(ORDER_STATUS, o.status),
      h('div', { class: 'meta' }, `${o.user_id} · ${o.id} · ${fmtTime(o.created_at)}`)),
    h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'primary small', dataset: { action: 'pickup' },
        onclick: (e) => quick(e.currentTarget, () => post(`/orders/${encodeURIComponent(o.id)}/pickup`), L('已确认领取', 'Handed over'), ctx.rerender) }, L('确认领取', 'Hand over')),
      h('button', { type: 'button', class: 'secondary small',
        onclick: (e) => quick(e.currentTarget, () => post(`/orders/${encodeURIComponent(o.id)}/cancel`, {}), L('已取消，积分已退回', 'Cancelled: points refunded'), ctx.rerender) }, L('取消', 'Cancel'))))))
    : empty(L('没有待领取的兑换。', 'Nothing waiting to be picked up.'));
  return h('section', {},
    pageHeader(L('商品与自提', 'Shop & pickups')),
    h('h2', {}, L('待领取', 'Waiting to be picked up'), h('span', { class: 'count plain' }, String(orders.total))), pickups,
    h('h2', { class: 'spaced' }, L('商品', 'Items')),
    items.length ? h('div', { class: 'cards' }, items.map((i) => stockRow(i, ctx.rerender))) : empty(L('还没有商品。', 'No items yet.')),
    h('details', { class: 'card', open: !items.length }, h('summary', { class: 'h2' }, L('上架新商品', 'New item')), create));
}

// -- broadcasts ----------------------------------------------------------------------------

export async function broadcastsPage(params, ctx) {
  const page = await get('/broadcasts', { page_size: 30 });
  const kind = is.community() ? 'community' : is.grid() && !state.me.roles.includes('building_leader') ? 'grid' : 'building';
  const create = form({
    submit: L('发送', 'Send'),
    children: [
      h('div', { class: 'row2' },
        field({ name: 'target_kind', label: L('发送范围', 'To'), control: select([
          { value: 'community', label: L('全社区', 'The whole community') }, { value: 'grid', label: L('一个网格', 'One grid') },
          { value: 'building', label: L('一栋楼', 'One building') }], { name: 'target_kind', value: kind }) }),
        field({ name: 'node_id', label: L('社区/网格/楼栋编号', 'Community, grid or building id'), required: true,
          control: input({ name: 'node_id', value: kind === 'community' ? community() : state.me.scope || '', autocapitalize: 'none' }) })),
      field({ name: 'title', label: L('标题', 'Title'), required: true, control: input({ name: 'title', maxlength: 100 }) }),
      field({ name: 'body', label: L('内容', 'Message'), required: true, control: textarea({ name: 'body', rows: 4, maxlength: 2000 }) }),
      field({ name: 'confirm_required', label: L('回执', 'Receipt'), control: h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'confirm_required' }), L('需要居民确认已阅', 'Ask people to confirm they read it')) }),
    ],
    action: async (el) => {
      const b = await post('/broadcasts', { target_kind: value(el, 'target_kind'), node_id: value(el, 'node_id').trim(),
        title: value(el, 'title').trim(), body: value(el, 'body').trim(), confirm_required: !!value(el, 'confirm_required') });
      toast(L('已发送给 {n} 人', 'Sent to {n} people', { n: b.total ?? 0 }));
      ctx.rerender();
    },
  });
  return h('section', {},
    pageHeader(L('广播通知', 'Broadcasts')),
    h('div', { class: 'card' }, h('h2', {}, L('发送通知', 'Send a notice')), create),
    h('h2', {}, L('已发送', 'Sent')),
    page.items.length ? h('ul', { class: 'plain broadcasts' }, page.items.map((b) => h('li', { dataset: { id: b.id } },
      h('div', {}, h('strong', {}, b.title), h('div', { class: 'meta' }, [b.node_name || b.node_id, b.sender_name || b.sender, fmtTime(b.created_at)].filter(Boolean).join(' · ')),
        h('p', { class: 'meta' }, b.body)),
      h('div', { class: 'meta right' }, L('{r}/{t} 已读', '{r}/{t} read', { r: b.read ?? 0, t: b.total ?? 0 }),
        b.confirm_required ? h('div', {}, L('{c} 已确认', '{c} confirmed', { c: b.confirmed ?? 0 })) : null))))
      : empty(L('还没有发过通知。', 'No notices sent yet.')));
}
