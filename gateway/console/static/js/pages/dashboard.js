// District administrator: the district at a glance. Figures are computed here from the petition list
// (every page of GET /petitions) until an analytics API exists; points come from the points reports
// when the API offers them.
import { firstOf, get, getAll } from '../api.js';
import { barChart, columnChart, stat } from '../charts.js';
import { L, codes, term } from '../i18n.js';
import { departmentNames, state } from '../state.js';
import { errorBox, h, pageHeader, unavailable } from '../ui.js';

const pct = (a, b) => (b ? `${Math.round((a / b) * 100)}%` : '—');

function rates(items) {
  const counted = items.filter((p) => p.status !== 'withdrawn' && p.status !== 'merged');
  const responded = counted.filter((p) => (p.timeline || []).some((e) => e.action !== 'submit' && e.actor !== 'system'));
  const solved = counted.filter((p) => p.status === 'resolved' || p.status === 'closed');
  const rated = counted.filter((p) => p.rating);
  const happy = rated.filter((p) => p.rating >= 4);
  return { counted: counted.length, responded: responded.length, solved: solved.length, rated: rated.length, happy: happy.length };
}

function monthOf(iso) { return String(iso || '').slice(0, 7); }

async function pointsSection() {
  const code = encodeURIComponent(state.me.district);
  const path = await firstOf([
    '/api/v1/districts/{code}/points/report', '/api/v1/districts/{code}/reports/points', '/api/v1/districts/{code}/points-report',
    '/api/v1/points/reports', '/api/v1/reports/points',
  ]);
  if (!path) return h('div', { class: 'card' }, h('h2', {}, L('积分发放与兑换', 'Points issued and redeemed')), unavailable(L('积分报表', 'The points report')));
  try {
    const report = await get(path.replace(/^\/api\/v1/, '').replace('{code}', code), { district: state.me.district });
    const monthly = report.monthly || report.series || report.months || [];
    return h('div', { class: 'card' },
      h('h2', {}, L('积分发放与兑换', 'Points issued and redeemed')),
      h('div', { class: 'stats' },
        stat(L('已发放', 'Issued'), String(report.issued ?? report.points_issued ?? '—')),
        stat(L('已兑换', 'Redeemed'), String(report.redeemed ?? report.points_redeemed ?? '—')),
        stat(L('未使用', 'Outstanding'), String(report.outstanding ?? '—'))),
      monthly.length ? columnChart(L('按月', 'By month'),
        monthly.map((m) => ({ label: m.month || m.period || '', values: [m.issued || 0, m.redeemed || 0] })),
        [L('发放', 'Issued'), L('兑换', 'Redeemed')]) : null);
  } catch (err) {
    return h('div', { class: 'card' }, h('h2', {}, L('积分发放与兑换', 'Points issued and redeemed')), errorBox(err));
  }
}

export async function dashboardPage() {
  const [{ items, total }, names, overdue] = await Promise.all([
    getAll('/petitions', { sort: 'newest' }), departmentNames(), get('/petitions', { overdue: true, page_size: 1 })]);
  const byStatus = Object.fromEntries(codes('status').map((s) => [s, 0]));
  const byLevel = Object.fromEntries(codes('level').map((s) => [s, 0]));
  const open = items.filter((p) => ['submitted', 'in_progress', 'escalated', 'dispatched'].includes(p.status));
  items.forEach((p) => { byStatus[p.status] = (byStatus[p.status] || 0) + 1; });
  open.forEach((p) => { byLevel[p.level] = (byLevel[p.level] || 0) + 1; });
  const overdueByLevel = Object.fromEntries(codes('level').map((s) => [s, open.filter((p) => p.level === s && p.overdue).length]));
  const all = rates(items);
  const depts = {};
  items.filter((p) => p.department_id).forEach((p) => { (depts[p.department_id] ||= []).push(p); });
  const months = {};
  items.forEach((p) => { const m = monthOf(p.created_at); months[m] = months[m] || [0, 0]; months[m][0] += 1; if (p.status === 'closed' || p.status === 'resolved') months[m][1] += 1; });
  const monthKeys = Object.keys(months).sort().slice(-12);

  return h('section', { class: 'dashboard' },
    pageHeader(L('概览', 'Dashboard'), h('a', { class: 'button secondary small', href: '#/all?overdue=true' }, L('查看超时诉求', 'Overdue petitions'))),
    total > items.length ? h('p', { class: 'hint' }, L('按最近 {n} 件诉求统计。', 'Based on the latest {n} petitions.', { n: items.length })) : null,
    h('div', { class: 'stats' },
      stat(L('诉求总数', 'Petitions'), String(total)),
      stat(L('办理中', 'Open'), String(open.length)),
      stat(L('已超时', 'Overdue'), String(overdue.total), null, overdue.total ? 'bad' : 'good'),
      stat(L('响应率', 'Response rate'), pct(all.responded, all.counted), L('有人认领或处理', 'taken up by someone')),
      stat(L('解决率', 'Resolution rate'), pct(all.solved, all.counted), L('已办结', 'resolved or closed')),
      stat(L('满意率', 'Satisfaction'), pct(all.happy, all.rated), L('4–5 星 / 已评价', '4–5 stars of rated'))),
    h('div', { class: 'grid2' },
      h('div', { class: 'card' }, barChart(L('按状态', 'By status'), codes('status').map((s) => ({ label: term('status', s), value: byStatus[s] || 0 })))),
      h('div', { class: 'card' }, barChart(L('未结诉求按层级（超时数）', 'Open petitions by level (overdue)'), codes('level').map((s) => ({
        label: term('level', s), value: byLevel[s] || 0, note: overdueByLevel[s] ? L('超时 {n}', '{n} overdue', { n: overdueByLevel[s] }) : null,
        tone: overdueByLevel[s] ? 'bad' : null,
      }))))),
    h('div', { class: 'card' },
      h('h2', {}, L('部门三率', 'Rates by department')),
      Object.keys(depts).length ? h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, [L('部门', 'Department'), L('派单', 'Dispatched'), L('响应率', 'Response'), L('解决率', 'Resolution'), L('满意率', 'Satisfaction'), L('超时', 'Overdue')].map((t) => h('th', {}, t)))),
        h('tbody', {}, Object.entries(depts).map(([id, list]) => {
          const r = rates(list);
          return h('tr', {}, h('td', {}, names[id] || id), h('td', {}, String(list.length)), h('td', {}, pct(r.responded, r.counted)),
            h('td', {}, pct(r.solved, r.counted)), h('td', {}, pct(r.happy, r.rated)), h('td', {}, String(list.filter((p) => p.overdue).length)));
        })))) : h('p', { class: 'empty' }, L('还没有派往部门的诉求。', 'Nothing has been dispatched to a department yet.'))),
    monthKeys.length ? h('div', { class: 'card' }, columnChart(L('每月诉求', 'Petitions by month'),
      monthKeys.map((m) => ({ label: m.slice(2), values: months[m] })), [L('提出', 'Filed'), L('办结', 'Resolved')])) : null,
    await pointsSection());
}
