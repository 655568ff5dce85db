// District administrator: the district at a glance, from GET /districts/{code}/dashboard (figures the gateway
// counts from the services: petitions by status and level, the three rates by community and department,
// overdue counts, petitions and points by month).
import { get } from '../api.js';
import { barChart, columnChart, rateChart, stat } from '../charts.js';
import { L, codes, term } from '../i18n.js';
import { state } from '../state.js';
import { h, pageHeader } from '../ui.js';

const pct = (rate) => (rate === null || rate === undefined ? '—' : `${Math.round(rate * 100)}%`);

function ratesTable(title, rows, who, emptyText) {
  return h('div', { class: 'card', dataset: { table: who } },
    h('h2', {}, title),
    rows.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, [L('名称', 'Name'), L('诉求', 'Petitions'), L('响应率', 'Response'), L('解决率', 'Resolution'),
        L('满意率', 'Satisfaction'), L('超时', 'Overdue')].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { id: r.id || '' } },
        h('td', {}, r.name || r.id || L('（未知）', '(unknown)')), h('td', {}, String(r.counted)),
        h('td', {}, pct(r.response_rate)), h('td', {}, pct(r.resolution_rate)),
        h('td', {}, pct(r.satisfaction_rate), r.rated ? h('small', { class: 'meta' }, ` (${r.rated})`) : null),
        h('td', { class: r.overdue ? 'bad' : null }, String(r.overdue))))))) : h('p', { class: 'empty' }, emptyText),
    rows.length ? rateChart(L('三率对比', 'The three rates'), rows.map((r) => ({
      label: r.name || r.id || '—',
      values: [r.response_rate, r.resolution_rate, r.satisfaction_rate].map((v) => (v === null || v === undefined ? null : Math.round(v * 100))),
    })), [L('响应率', 'Response'), L('解决率', 'Resolution'), L('满意率', 'Satisfaction')]) : null);
}

export async function dashboardPage() {
  const d = await get(`/districts/${encodeURIComponent(state.me.district)}/dashboard`);
  const r = d.rates;
  const points = d.points;
  const months = d.monthly || [];
  return h('section', { class: 'dashboard' },
    pageHeader(L('概览', 'Dashboard'), h('a', { class: 'button secondary small', href: '#/all?overdue=true' }, L('查看超时诉求', 'Overdue petitions'))),
    d.complete ? null : h('p', { class: 'hint' }, L('按最近的诉求统计。', 'Based on the latest petitions.')),
    h('div', { class: 'stats' },
      stat(L('诉求总数', 'Petitions'), String(d.total)),
      stat(L('办理中', 'Open'), String(d.open)),
      stat(L('已超时', 'Overdue'), String(d.overdue), null, d.overdue ? 'bad' : 'good'),
      stat(L('响应率', 'Response rate'), pct(r.response_rate), L('有人认领或处理', 'taken up by someone')),
      stat(L('解决率', 'Resolution rate'), pct(r.resolution_rate), L('已办结', 'resolved or closed')),
      stat(L('满意率', 'Satisfaction'), pct(r.satisfaction_rate), L('4–5 星 / 已评价', '4–5 stars of rated'))),
    h('div', { class: 'grid2' },
      h('div', { class: 'card' }, barChart(L('诉求按状态', 'Petitions by status'),
        codes('status').map((s) => ({ label: term('status', s), value: d.by_status[s] || 0 })))),
      h('div', { class: 'card' }, barChart(L('未结诉求按层级（超时数）', 'Open petitions by level (overdue)'), d.by_level.map((row) => ({
        label: term('level', row.level), value: row.open,
        note: row.overdue ? L('超时 {n}', '{n} overdue', { n: row.overdue }) : null, tone: row.overdue ? 'bad' : null,
      }))))),
    h('div', { class: 'grid2' },
      ratesTable(L('各社区三率', 'Rates by community'), d.by_community, 'community', L('还没有诉求。', 'No petitions yet.')),
      ratesTable(L('各部门三率', 'Rates by department'), d.by_department, 'department',
        L('还没有派往部门的诉求。', 'Nothing has been dispatched to a department yet.'))),
    h('div', { class: 'grid2' },
      h('div', { class: 'card' }, months.length ? columnChart(L('每月诉求', 'Petitions by month'),
        months.map((m) => ({ label: m.month.slice(2), values: [m.filed, m.solved] })), [L('提出', 'Filed'), L('已办结', 'Solved')])
        : h('p', { class: 'empty' }, L('还没有诉求。', 'No petitions yet.'))),
      h('div', { class: 'card', dataset: { section: 'points' } },
        points ? h('div', { class: 'stats three' },
          stat(L('已发放积分', 'Points issued'), String(points.issued), `¥${points.issued_yuan}`),
          stat(L('已兑换积分', 'Points redeemed'), String(points.redeemed), `¥${points.redeemed_yuan}`),
          stat(L('未使用', 'Outstanding'), String(points.outstanding), `¥${points.outstanding_yuan}`)) : null,
        months.length ? columnChart(L('每月积分发放与兑换', 'Points issued and redeemed by month'),
          months.map((m) => ({ label: m.month.slice(2), values: [m.issued, m.redeemed] })), [L('发放', 'Issued'), L('兑换', 'Redeemed')]) : null)));
}
