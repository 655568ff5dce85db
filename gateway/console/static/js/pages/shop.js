// A resident's points supermarket (积分超市): items with stock and prices, redeeming, my orders,
// volunteer activities to sign up for, and claims of good deeds (自主申报).
import { del, get, post } from '../api.js';
import { L } from '../i18n.js';
import { state } from '../state.js';
import {
  empty, field, fmtDate, fmtTime, form, h, input, link, pageHeader, photos, textarea, toast, urlList, value, yuan,
} from '../ui.js';
import { describeError } from '../errors.js';

const ORDER_STATUS = {
  reserved: ['待自提', 'To pick up'], picked_up: ['已领取', 'Picked up'], cancelled: ['已取消', 'Cancelled'],
  expired: ['已过期', 'Expired'],
};
const CLAIM_STATUS = { pending: ['待审核', 'Waiting'], approved: ['已通过', 'Approved'], rejected: ['未通过', 'Rejected'] };
const ACTIVITY_STATUS = { open: ['报名中', 'Open'], cancelled: ['已取消', 'Cancelled'] };

export function badge(table, status) {
  const row = table[status];
  return h('span', { class: `badge st-${status}` }, row ? L(row[0], row[1]) : status);
}

export function priceText(points) {
  return L('{p} 积分（{y}）', '{p} points ({y})', { p: points, y: yuan(points) });
}

// -- the shop ------------------------------------------------------------------------------

function itemCard(item, balance, onRedeemed) {
  const soldOut = item.stock <= 0;
  const redeem = form({
    submit: soldOut ? L('已兑完', 'Sold out') : L('兑换', 'Redeem'),
    children: [field({ name: 'quantity', label: L('数量', 'Quantity'),
      control: input({ name: 'quantity', type: 'number', inputmode: 'numeric', min: 1, step: 1, value: '1' }) })],
    action: async (el) => {
      const n = Number(value(el, 'quantity'));
      const order = await post('/orders', { item_id: item.id, quantity: Number.isInteger(n) && n > 0 ? n : value(el, 'quantity') });
      onRedeemed(order);
    },
  });
  if (soldOut) redeem.querySelector('button[type=submit]').disabled = true;
  return h('article', { class: 'item', dataset: { id: item.id } },
    item.image_url ? h('img', { src: item.image_url, alt: item.name, loading: 'lazy', referrerpolicy: 'no-referrer' }) : null,
    h('div', { class: 'body' },
      h('h3', {}, item.name),
      item.description ? h('p', { class: 'meta' }, item.description) : null,
      h('p', { class: 'price', 'data-testid': 'price' }, priceText(item.price)),
      h('p', { class: 'meta' }, h('span', { 'data-testid': 'stock' }, soldOut ? L('已兑完', 'Sold out') : L('库存 {n}', '{n} in stock', { n: item.stock })),
        item.per_person_limit ? L(' · 每人限 {n} 件{p}', ' · at most {n} each{p}', { n: item.per_person_limit,
          p: item.limit_period === 'month' ? L('/月', ' a month') : '' }) : null),
      balance < item.price ? h('p', { class: 'hint' }, L('还差 {n} 积分', '{n} more points needed', { n: item.price - balance })) : null,
      redeem));
}

let lastOrder = null; // the order just made, shown once above the refreshed shop

function redeemedNotice(order) {
  return h('div', { class: 'notice good', 'data-testid': 'redeemed', role: 'status' },
    h('strong', {}, L('兑换成功：{n} × {q}，扣 {p} 积分', 'Redeemed: {n} × {q}, {p} points', { n: order.item_name, q: order.quantity, p: order.points })),
    h('p', {}, L('请在 {d} 前到社区领取，订单号 {id}。', 'Pick it up at the community by {d}; order {id}.', { d: fmtDate(order.expires_at), id: order.id })),
    h('p', {}, link('#/orders', L('查看我的兑换', 'See my orders'))));
}

export async function shopPage(params, ctx) {
  const [me, items] = await Promise.all([get('/points/me'), get('/shop/items')]);
  const result = lastOrder ? redeemedNotice(lastOrder) : null;
  lastOrder = null;
  const onRedeemed = (order) => {
    toast(L('兑换成功', 'Redeemed'));
    lastOrder = order;
    ctx.rerender();
  };
  const offered = items.filter((i) => i.active !== false);
  return h('section', {},
    pageHeader(L('积分超市', 'Points shop'), link('#/orders', L('我的兑换', 'My orders'), { class: 'button secondary small' })),
    h('div', { class: 'card balance slim' },
      h('span', {}, L('我的积分 ', 'My points '), h('strong', { 'data-testid': 'shop-balance' }, String(me.balance))),
      h('span', { class: 'balance-yuan' }, L('约合 {y}', 'worth {y}', { y: yuan(me.balance) })),
      h('p', { class: 'hint' }, L('1 积分 = 1 元。兑换后到社区服务站自提。', '1 point = 1 yuan. Pick up what you redeem at the community office.'))),
    result,
    offered.length ? h('div', { class: 'items' }, offered.map((i) => itemCard(i, me.balance, onRedeemed)))
      : empty(L('超市里还没有商品。', 'Nothing in the shop yet.')));
}

// -- my orders ----------------------------------------------------------------------------

export async function ordersPage(params, ctx) {
  const page = await get('/orders', { page_size: 100 });
  const cancel = async (order, button) => {
    button.disabled = true;
    try {
      await post(`/orders/${encodeURIComponent(order.id)}/cancel`, {});
      toast(L('已取消，积分已退回', 'Cancelled: the points are back'));
      ctx.rerender();
    } catch (err) { toast(describeError(err), 'error'); button.disabled = false; }
  };
  return h('section', {},
    pageHeader(L('我的兑换', 'My orders'), link('#/shop', L('去积分超市', 'Go to the shop'), { class: 'button secondary small' })),
    page.items.length ? h('ul', { class: 'plain orders' }, page.items.map((o) => h('li', { dataset: { id: o.id, status: o.status } },
      h('div', {},
        h('strong', {}, `${o.item_name} × ${o.quantity}`), ' ', badge(ORDER_STATUS, o.status),
        h('div', { class: 'meta' }, [o.id, fmtTime(o.created_at),
          o.status === 'reserved' && o.expires_at ? L('{d} 前自提', 'pick up by {d}', { d: fmtDate(o.expires_at) }) : null,
          o.picked_up_at ? L('{d} 领取', 'picked up {d}', { d: fmtTime(o.picked_up_at) }) : null].filter(Boolean).join(' · '))),
      h('div', { class: 'row-actions' },
        h('span', { class: 'amount minus' }, `-${o.points}`),
        o.status === 'reserved' ? h('button', { type: 'button', class: 'secondary small', onclick: (e) => cancel(o, e.currentTarget) }, L('取消', 'Cancel')) : null))))
      : empty(L('还没有兑换记录。', 'No orders yet.')));
}

// -- volunteer activities -----------------------------------------------------------------

export function activityFacts(a) {
  return h('p', { class: 'meta' }, [
    fmtTime(a.starts_at) + (a.ends_at ? ` – ${fmtTime(a.ends_at)}` : ''), a.place,
    L('已报 {s}/{c}', '{s}/{c} signed up', { s: a.signed_up, c: a.capacity }),
    L('{p} 积分', '{p} points', { p: a.points }),
  ].filter(Boolean).join(' · '));
}

export async function activitiesPage(params, ctx) {
  if (!state.me.community) return h('section', {}, pageHeader(L('志愿活动', 'Activities')), empty(L('您还没有所属社区。', 'You belong to no community yet.')));
  const page = await get(`/communities/${encodeURIComponent(state.me.community)}/activities`, { page_size: 50 });
  const toggle = async (a, button) => {
    button.disabled = true;
    try {
      const path = `/activities/${encodeURIComponent(a.id)}/signup`;
      if (a.me_signed_up) await del(path); else await post(path);
      toast(a.me_signed_up ? L('已取消报名', 'Sign-up withdrawn') : L('报名成功，签到后获得积分', 'Signed up: check in on the day to earn points'));
      ctx.rerender();
    } catch (err) { toast(describeError(err), 'error'); button.disabled = false; }
  };
  const upcoming = page.items.filter((a) => a.status === 'open');
  return h('section', {},
    pageHeader(L('志愿活动', 'Volunteer activities')),
    h('p', { class: 'lead' }, L('报名参加社区的志愿服务，到场签到后获得积分。', 'Sign up for your community’s volunteering; checking in on the day earns points.')),
    upcoming.length ? h('div', { class: 'cards' }, upcoming.map((a) => h('article', { class: 'pcard activity', dataset: { id: a.id } },
      h('div', { class: 'pcard-main' },
        h('div', { class: 'pcard-top' }, badge(ACTIVITY_STATUS, a.status), a.me_signed_up ? h('span', { class: 'badge st-approved' }, L('已报名', 'Signed up')) : null),
        h('h3', {}, a.title), activityFacts(a),
        a.description ? h('p', { class: 'meta' }, a.description) : null),
      h('div', { class: 'pcard-actions' }, h('button', {
        type: 'button', class: a.me_signed_up ? 'secondary small' : 'primary small', dataset: { action: 'signup' },
        disabled: !a.me_signed_up && a.places_left <= 0, onclick: (e) => toggle(a, e.currentTarget),
      }, a.me_signed_up ? L('取消报名', 'Withdraw') : a.places_left <= 0 ? L('名额已满', 'Full') : L('报名', 'Sign up'))))))
      : empty(L('近期没有活动。', 'No activities coming up.')));
}

// -- claims of good deeds -------------------------------------------------------------------

export async function claimsPage(params, ctx) {
  const page = await get('/claims', { page_size: 50 });
  const f = form({
    submit: L('提交申报', 'Send'),
    children: [
      field({ name: 'title', label: L('做了什么好事', 'What did you do?'), required: true, control: input({ name: 'title', maxlength: 120, placeholder: L('如：帮邻居搬运物资', 'e.g. Helped a neighbour carry shopping') }) }),
      field({ name: 'description', label: L('详细说明', 'Details'), control: textarea({ name: 'description', rows: 3, maxlength: 2000 }) }),
      field({ name: 'media', label: L('照片网址', 'Photo links'), control: textarea({ name: 'media', rows: 2, inputmode: 'url', autocapitalize: 'none', placeholder: 'https://…' }),
        hint: L('每行一个网址，最多 9 张。', 'One link per line, at most 9.') }),
    ],
    action: async (el) => {
      await post('/claims', { title: value(el, 'title').trim(), description: value(el, 'description').trim(), media: urlList(value(el, 'media')) });
      toast(L('已提交，等待社区审核', 'Sent: the community will review it'));
      ctx.rerender();
    },
  });
  return h('section', {},
    pageHeader(L('自主申报', 'Good deeds')),
    h('p', { class: 'lead' }, L('做了好事可以申报，社区审核通过后获得积分。', 'Tell your community about a good deed; once approved it earns points.')),
    h('div', { class: 'card' }, f),
    h('h2', {}, L('我的申报', 'My claims')),
    page.items.length ? h('ul', { class: 'plain claims' }, page.items.map((c) => h('li', { dataset: { id: c.id, status: c.status } },
      h('div', {}, h('strong', {}, c.title), ' ', badge(CLAIM_STATUS, c.status),
        h('div', { class: 'meta' }, [fmtTime(c.created_at), c.reason ? L('原因：{r}', 'Reason: {r}', { r: c.reason }) : null, c.note].filter(Boolean).join(' · ')),
        photos(c.media)),
      c.status === 'approved' ? h('span', { class: 'amount plus' }, `+${c.points}`) : null)))
      : empty(L('还没有申报。', 'No claims yet.')));
}

export { ORDER_STATUS, CLAIM_STATUS, ACTIVITY_STATUS };
