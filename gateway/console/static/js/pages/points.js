// My points (积分): balance in points and yuan (1 point = 1 yuan in the seed communities) and the statement.
import { get } from '../api.js';
import { L } from '../i18n.js';
import { is } from '../state.js';
import { empty, fmtTime, h, link, pageHeader, yuan } from '../ui.js';

const REASONS = {
  petition_rated: ['评价诉求', 'Rated a petition'],
  petition_handled: ['办理诉求获好评', 'Well-rated handling'],
  activity_attended: ['参加志愿活动', 'Volunteer activity'],
  activity_attendance: ['参加志愿活动', 'Volunteer activity'],
  redeem: ['积分兑换', 'Redeemed in the shop'],
  refund: ['兑换取消退回', 'Order cancelled: refund'],
  wish_fulfilled: ['认领微心愿', 'Micro-wish fulfilled'],
  claim_approved: ['自主申报通过', 'Good deed approved'],
  redeemed: ['积分兑换', 'Redeemed in the shop'],
  points_redeemed: ['积分兑换', 'Redeemed in the shop'],
  order_cancelled: ['兑换取消退回', 'Order cancelled: refund'],
};

export function reasonLabel(entry) {
  const row = REASONS[entry.reason];
  if (row) return L(row[0], row[1]);
  return entry.description || entry.reason || '';
}

export async function pointsPage() {
  const me = await get('/points/me');
  const entries = me.entries || [];
  return h('section', {},
    pageHeader(L('我的积分', 'My points')),
    h('div', { class: 'card balance', 'data-testid': 'balance' },
      h('span', { class: 'balance-points' }, h('strong', { 'data-testid': 'points' }, String(me.balance)), ' ', L('积分', 'points')),
      h('span', { class: 'balance-yuan' }, L('约合 {y}', 'worth {y}', { y: yuan(me.balance) })),
      h('p', { class: 'hint' }, L('1 积分 = 1 元，可在社区积分超市兑换商品。', '1 point = 1 yuan, to spend in the community shop.')),
      is.resident() ? h('div', { class: 'form-actions' }, link('#/shop', L('去积分超市', 'Go to the shop'), { class: 'button secondary' })) : null),
    h('h2', {}, L('积分明细', 'Statement')),
    entries.length ? h('ul', { class: 'statement' }, entries.map((e) => h('li', {},
      h('div', {}, h('strong', {}, reasonLabel(e)),
        h('span', { class: 'meta' }, ' ', fmtTime(e.created_at)),
        e.petition_id ? h('span', { class: 'meta' }, ' · ', link(`#/p/${e.petition_id}`, e.petition_id)) : null),
      h('span', { class: `amount ${e.amount < 0 ? 'minus' : 'plus'}` }, (e.amount > 0 ? '+' : '') + e.amount))))
      : empty(L('还没有积分记录。评价诉求、参加志愿活动都能获得积分。', 'No points yet. Rating petitions and volunteering earn points.')));
}
