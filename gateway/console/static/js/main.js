// The console's shell: sign-in, the navigation each role gets, and a hash router (#/queue, #/p/hb-000001).
import { get, hasToken, setToken, whenUnauthorized } from './api.js';
import { L, getLang, onLangChange, setLang, term } from './i18n.js';
import { is, setMe, state } from './state.js';
import { errorBox, h, loading } from './ui.js';
import { loginPage } from './pages/login.js';
import { filePage } from './pages/file.js';
import { allPage, minePage, queuePage } from './pages/lists.js';
import { detailPage } from './pages/detail.js';
import { followUpsPage } from './pages/followups.js';
import { pointsPage } from './pages/points.js';
import { inboxPage, refreshUnread } from './pages/inbox.js';
import { prefsPage } from './pages/prefs.js';
import { activitiesPage, claimsPage, ordersPage, shopPage } from './pages/shop.js';
import { broadcastsPage, staffActivitiesPage, staffClaimsPage, staffShopPage } from './pages/staff.js';
import { dashboardPage } from './pages/dashboard.js';
import { settingsPage } from './pages/settings.js';
import { platformPage } from './pages/platform.js';
import { newProjectPage, projectPage, projectsPage } from './pages/projects.js';
import { adoptPage, staffWishesPage, wishesPage } from './pages/wishes.js';
import { householdPage, householdsPage, mayVisit } from './pages/households.js';

// path pattern, page, who may open it, and the navigation entry (if any)
const ROUTES = [
  { path: 'file', page: filePage, when: is.resident, nav: ['我要反映', 'Report'] },
  { path: 'mine', page: minePage, when: is.resident, nav: ['我的诉求', 'My petitions'] },
  { path: 'queue', page: queuePage, when: is.staff, nav: ['待办', 'Work queue'] },
  { path: 'all', page: allPage, when: () => is.staff() || is.admin(), nav: ['全部诉求', 'All petitions'] },
  { path: 'follow-ups', page: followUpsPage, when: is.community, nav: ['回访', 'Follow-ups'] },
  { path: 'projects', page: projectsPage, when: () => is.community() || is.admin() || is.resident(), nav: ['微项目', 'Projects'] },
  { path: 'projects/new', page: newProjectPage, when: () => is.community() || is.admin() },
  { path: 'projects/:id', page: projectPage, when: () => is.member() },
  { path: 'households', page: householdsPage, when: mayVisit, nav: ['走访户', 'Households'] },
  { path: 'h/:id', page: householdPage, when: mayVisit },
  { path: 'dashboard', page: dashboardPage, when: is.admin, nav: ['概览', 'Dashboard'] },
  { path: 'settings', page: settingsPage, when: is.admin, nav: ['设置', 'Settings'] },
  { path: 'points', page: pointsPage, when: is.member, nav: ['我的积分', 'My points'] },
  { path: 'shop', page: shopPage, when: is.resident, nav: ['积分超市', 'Shop'] },
  { path: 'orders', page: ordersPage, when: is.resident, nav: ['我的兑换', 'My orders'] },
  { path: 'activities', page: activitiesPage, when: is.resident, nav: ['志愿活动', 'Activities'] },
  { path: 'claims', page: claimsPage, when: is.resident, nav: ['自主申报', 'Good deeds'] },
  { path: 'wishes', page: wishesPage, when: is.resident, nav: ['微心愿', 'Micro-wishes'] },
  { path: 'wishes/adopt', page: adoptPage, when: is.adopter, nav: ['认领心愿', 'Adopt a wish'] },
  { path: 'staff/wishes', page: staffWishesPage, when: is.community, nav: ['心愿台账', 'Wishes board'] },
  { path: 'staff/activities', page: staffActivitiesPage, when: is.community, nav: ['活动签到', 'Activities & check-in'] },
  { path: 'staff/claims', page: staffClaimsPage, when: is.community, nav: ['申报审核', 'Claim approvals'] },
  { path: 'staff/shop', page: staffShopPage, when: is.community, nav: ['商品与自提', 'Shop & pickups'] },
  { path: 'staff/broadcasts', page: broadcastsPage, when: () => is.community() || is.grid(), nav: ['广播通知', 'Broadcasts'] },
  { path: 'inbox', page: inboxPage, when: is.member, nav: ['消息', 'Inbox'], badge: 'unread' },
  { path: 'prefs', page: prefsPage, when: is.member, nav: ['通知设置', 'Notifications'] },
  { path: 'platform', page: platformPage, when: is.platform, nav: ['平台管理', 'Platform'] },
  { path: 'p/:id', page: detailPage, when: () => true },
];

function home() {
  if (is.platform()) return 'platform';
  if (is.admin()) return 'dashboard';
  if (is.staff()) return 'queue';
  if (is.resident()) return 'mine';
  if (is.adopter()) return 'wishes/adopt';
  return 'inbox';
}

function match(hash) {
  const path = hash.replace(/^#\/?/, '').split('?')[0];
  for (const route of ROUTES) {
    const names = [];
    const pattern = new RegExp('^' + route.path.replace(/:(\w+)/g, (m, n) => { names.push(n); return '([^/]+)'; }) + '$');
    const m = path.match(pattern);
    if (m) return { route, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

export function query() {
  const q = location.hash.split('?')[1] || '';
  return Object.fromEntries(new URLSearchParams(q));
}

export function go(path) { location.hash = '#/' + path; }

// -- the shell -------------------------------------------------------------------------------

const root = document.getElementById('app');
let main = null;
let nav = null;
let renderCount = 0;

function langButton() {
  return h('button', {
    type: 'button', class: 'lang', 'data-testid': 'lang',
    'aria-label': getLang() === 'en' ? '切换到中文' : 'Switch to English',
    onclick: () => setLang(getLang() === 'en' ? 'zh' : 'en'),
  }, getLang() === 'en' ? '中文' : 'EN');
}

function signOut() {
  setToken(null);
  setMe(null);
  go('login');
  render();
}

function shell() {
  const me = state.me;
  const roleText = me.roles.map((r) => term('role', r)).join(' · ');
  nav = h('nav', { class: 'nav', 'aria-label': L('主菜单', 'Main menu') },
    h('ul', {}, ROUTES.filter((r) => r.nav && r.when()).map((r) => h('li', {},
      h('a', { href: '#/' + r.path, dataset: { route: r.path } },
        h('span', {}, L(r.nav[0], r.nav[1])),
        r.badge ? h('span', { class: 'count', dataset: { badge: r.badge }, hidden: true }) : null)))));
  main = h('main', { id: 'main', tabindex: '-1' });
  root.replaceChildren(
    h('header', { class: 'top' },
      h('a', { class: 'brand', href: '#/' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '网'), L('网格通', 'CivicGrid')),
      h('div', { class: 'who' },
        h('span', { class: 'who-name', 'data-testid': 'who' }, me.name || me.user_id),
        h('span', { class: 'who-role' }, roleText)),
      langButton(),
      h('button', { type: 'button', class: 'link signout', onclick: signOut }, L('退出', 'Sign out'))),
    h('div', { class: 'layout' }, nav, main));
}

function markNav(path) {
  if (!nav) return;
  nav.querySelectorAll('a').forEach((a) => {
    const active = a.dataset.route === path;
    a.classList.toggle('active', active);
    if (active) { a.setAttribute('aria-current', 'page'); a.scrollIntoView({ block: 'nearest', inline: 'nearest' }); } else a.removeAttribute('aria-current');
  });
}

async function loadMe() {
  if (state.me || !hasToken()) return state.me;
  try {
    setMe(await get('/auth/me'));
  } catch (err) {
    if (err.status === 401) setToken(null);
    else throw err;
  }
  return state.me;
}

export async function render() {
  const count = ++renderCount;
  document.documentElement.lang = getLang() === 'en' ? 'en' : 'zh-CN';
  document.title = L('网格通 · 基层治理', 'CivicGrid');
  let me;
  try {
    me = await loadMe();
  } catch (err) {
    root.replaceChildren(h('main', { class: 'solo' }, errorBox(err)));
    return;
  }
  if (!me) {
    main = null; nav = null;
    root.replaceChildren(loginPage({ langButton, onSignedIn: async () => { await loadMe(); go(home()); render(); } }));
    return;
  }
  const hit = match(location.hash);
  if (!hit || hit.route.path === 'login' || !hit.route.when()) {
    const target = home();
    if (location.hash !== '#/' + target) { location.replace('#/' + target); }
    if (!hit || !hit.route.when()) return render();
  }
  if (!main || !root.contains(main)) shell();
  markNav(hit.route.path);
  main.replaceChildren(loading());
  let content;
  try {
    content = await hit.route.page(hit.params, { rerender: render });
  } catch (err) {
    console.error(err);
    // a page that could not load says why in plain words and offers to try again (a busy service, a lost connection)
    content = h('section', { class: 'page-error' }, errorBox(err),
      h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'secondary', 'data-testid': 'retry', onclick: () => render() }, L('重试', 'Try again'))));
  }
  if (count !== renderCount) return; // a newer navigation won
  main.replaceChildren(content);
  main.dataset.page = hit.route.path.replace(/[/:]/g, '-');
  refreshUnread();
}

whenUnauthorized(() => { setToken(null); setMe(null); if (!location.hash.startsWith('#/login')) go('login'); render(); });
onLangChange(() => { main = null; render(); });
window.addEventListener('hashchange', render);
setInterval(() => { if (state.me && document.visibilityState === 'visible') refreshUnread(); }, 60000);
render();
