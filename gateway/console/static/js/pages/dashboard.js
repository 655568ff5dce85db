// District administrator: the district at a glance. The three rates, by community and department, hotspots and
// durations come from the petitions service's read model (GET /districts/{code}/analytics/…, last 30 days, each
// table also as CSV); petitions by status, level and month and the points from GET /districts/{code}/dashboard.
import { download, get } from '../api.js';
import { barChart, columnChart, rateChart, stat } from '../charts.js';
import { L, codes, term } from '../i18n.js';
import { state } from '../state.js';
import { h, pageHeader } from '../ui.js';

const pct = (rate) => (rate === null || rate === undefined ? '—' : `${Math.round(rate * 100)}%`);
const hours = (v) => (v === null || v === undefined ? '—' : (v < 1 ? `${Math.round(v * 60)} min` : `${v.toFixed(1)} h`));
const of = (n, d) => `${n} / ${d}`;

function csvButton(view, code) {
  return h('button', {
    type: 'button', class: 'button secondary small', dataset: { csv: view },
    onclick: () => download(`/districts/${encodeURIComponent(code)}/analytics/${view}`, {}, `analytics-${view}.csv`),
  }, L('导出 CSV', 'CSV'));
}

function ratesTable(title, rows, who, emptyText, code) {
  return h('div', { class: 'card', dataset: { table: who } },
    h('h2', {}, title, ' ', csvButton('rankings', code)),
    rows.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, [L('排名', '#'), L('名称', 'Name'), L('响应率', 'Response'), L('解决率', 'Resolution'),
        L('满意率', 'Satisfaction'), L('超时', 'Overdue')].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { id: r.id || '' } },
        h('td', {}, String(r.rank)), h('td', {}, r.name || r.id || L('（未知）', '(unknown)')),
        h('td', {}, pct(r.response.rate), h('small', { class: 'meta' }, ` ${of(r.response.responded_in_time, r.response.had_to_respond)}`)),
        h('td', {}, pct(r.resolution.rate), h('small', { class: 'meta' }, ` ${of(r.resolution.resolved, r.resolution.due)}`)),
        h('td', {}, pct(r.satisfaction.rate), h('small', { class: 'meta' }, ` ${of(r.satisfaction.satisfied, r.satisfaction.rated)}`)),
        h('td', { class: r.overdue ? 'bad' : null }, String(r.overdue))))))) : h('p', { class: 'empty' }, emptyText),
    rows.length ? rateChart(L('三率对比', 'The three rates'), rows.map((r) => ({
      label: r.name || r.id || '—',
      values: [r.response.rate, r.resolution.rate, r.satisfaction.rate].map((v) => (v === null || v === undefined ? null : Math.round(v * 100))),
    })), [L('响应率', 'Response'), L('解决率', 'Resolution'), L('满意率', 'Satisfaction')]) : null);
}

function hotspotsCard(spots, code) {
  const rows = spots.by_building.map((r) => ({ ...r, where: L('楼栋', 'building') }))
    .concat(spots.by_grid.map((r) => ({ ...r, where: L('网格', 'grid') })));
  const trend = (r) => (r.change > 0 ? `▲ ${r.change}` : r.change < 0 ? `▼ ${-r.change}` : '—');
  return h('div', { class: 'card', dataset: { table: 'hotspots' } },
    h('h2', {}, L('热点（类别 × 楼栋 / 网格）', 'Hotspots (category × building / grid)'), ' ', csvButton('hotspots', code)),
    h('p', { class: 'hint' }, L('与上一个同样长的时段相比', 'against the previous period of the same length')),
    rows.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, [L('类别', 'Category'), L('位置', 'Where'), L('诉求', 'Petitions'), L('上期', 'Before'),
        L('变化', 'Trend')].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { node: r.node, category: r.category } },
        h('td', {}, r.category), h('td', {}, `${r.where} ${r.node}`), h('td', {}, String(r.count)),
        h('td', {}, String(r.previous)), h('td', { class: r.change > 0 ? 'bad' : null }, trend(r)))))))
      : h('p', { class: 'empty' }, L('这段时间没有诉求。', 'No petitions in this period.')));
}

function durationsCard(d, whistle, code) {
  const rows = (measure, label) => d[measure].by_level.map((r) => ({
    label: `${label} · ${term('level', r.key)}`, value: r.p50_hours || 0,
    note: L('p90 {p} · {n} 件', 'p90 {p} · {n}', { p: hours(r.p90_hours), n: r.count }),
  }));
  const all = rows('claim', L('认领', 'Claim')).concat(rows('resolve', L('办结', 'Resolve')));
  return h('div', { class: 'card', dataset: { section: 'durations' } },
    h('h2', {}, L('用时（中位数）', 'Time taken (median)'), ' ', csvButton('durations', code)),
    h('p', { class: 'hint' }, L('吹哨率 {r}（{n} / {m} 件上报社区）', 'Whistle rate {r} ({n} of {m} beyond the grid)',
      { r: pct(whistle.rate), n: whistle.escalated, m: whistle.submitted })),
    all.length ? barChart(L('按层级：认领用时、办结用时', 'By level: to claim, to resolve'), all, { format: hours })
      : h('p', { class: 'empty' }, L('这段时间还没有认领或办结。', 'Nothing claimed or resolved in this period.')));
}

export async function dashboardPage() {
  const code = state.me.district;
  const base = `/districts/${encodeURIComponent(code)}`;
  const [d, spots, times] = await Promise.all([get(`${base}/dashboard`), get(`${base}/analytics/hotspots`),
    get(`${base}/analytics/durations`)]);
  const r = d.rates;
  const points = d.points;
  const months = d.monthly || [];
  return h('section', { class: 'dashboard' },
    pageHeader(L('概览', 'Dashboard'), h('a', { class: 'button secondary small', href: '#/all?overdue=true' }, L('查看超时诉求', 'Overdue petitions'))),
    d.complete ? null : h('p', { class: 'hint' }, L('状态统计按最近的诉求。', 'Status counts cover the latest petitions.')),
    h('p', { class: 'hint', dataset: { period: `${r.period.from}..${r.period.to}` } },
      L('三率：{f} 至 {t}（UTC），定义见 README', 'Rates: {f} to {t} (UTC), defined in the README', { f: r.period.from, t: r.period.to }),
      ' ', csvButton('rates', code)),
    h('div', { class: 'stats' },
      stat(L('诉求总数', 'Petitions'), String(d.total)),
      stat(L('办理中', 'Open'), String(d.open)),
      stat(L('已超时', 'Overdue'), String(d.overdue), null, d.overdue ? 'bad' : 'good'),
      stat(L('响应率', 'Response rate'), pct(r.response.rate),
        L('按时认领/接单 {n}', 'claimed or accepted in time {n}', { n: of(r.response.responded_in_time, r.response.had_to_respond) })),
      stat(L('解决率', 'Resolution rate'), pct(r.resolution.rate),
        L('已解决 / 到期 {n}', 'resolved of due {n}', { n: of(r.resolution.resolved, r.resolution.due) })),
      stat(L('满意率', 'Satisfaction'), pct(r.satisfaction.rate),
        L('4–5 星 / 已评价 {n}', '4–5 stars of rated {n}', { n: of(r.satisfaction.satisfied, r.satisfaction.rated) }))),
    h('div', { class: 'grid2' },
      h('div', { class: 'card' }, barChart(L('诉求按状态', 'Petitions by status'),
        codes('status').map((s) => ({ label: term('status', s), value: d.by_status[s] || 0 })))),
      h('div', { class: 'card' }, barChart(L('未结诉求按层级（超时数）', 'Open petitions by level (overdue)'), d.by_level.map((row) => ({
        label: term('level', row.level), value: row.open,
        note: row.overdue ? L('超时 {n}', '{n} overdue', { n: row.overdue }) : null, tone: row.overdue ? 'bad' : null,
      }))))),
    h('div', { class: 'grid2' },
      ratesTable(L('各社区三率', 'Rates by community'), d.by_community, 'community', L('还没有诉求。', 'No petitions yet.'), code),
      ratesTable(L('各部门三率', 'Rates by department'), d.by_department, 'department',
        L('还没有派往部门的诉求。', 'Nothing has been dispatched to a department yet.'), code)),
    h('div', { class: 'grid2' }, hotspotsCard(spots, code), durationsCard(times, r.whistle, code)),
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
