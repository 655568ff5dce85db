// My inbox, with the unread count in the menu.
import { get, post } from '../api.js';
import { L } from '../i18n.js';
import { state } from '../state.js';
import { empty, fmtTime, h, pageHeader, toast } from '../ui.js';
import { describeError } from '../errors.js';

export async function refreshUnread() {
  if (!state.me || !state.me.district) return;
  try {
    const body = await get('/notifications', { page_size: 1 });
    setUnread(body.unread || 0);
  } catch (err) { /* the badge can wait */ }
}

function setUnread(n) {
  document.querySelectorAll('[data-badge="unread"]').forEach((el) => {
    el.textContent = n > 99 ? '99+' : String(n);
    el.hidden = !n;
    el.setAttribute('aria-label', L('{n} 条未读', '{n} unread', { n }));
  });
}

export async function inboxPage(params, ctx) {
  const body = await get('/notifications', { page_size: 100 });
  setUnread(body.unread || 0);
  const markRead = async (n, row) => {
    if (n.read) return;
    await post(`/notifications/${encodeURIComponent(n.id)}/read`);
    n.read = true;
    row.classList.remove('unread');
    body.unread = Math.max(0, (body.unread || 1) - 1);
    setUnread(body.unread);
  };
  const list = h('ul', { class: 'inbox' }, body.items.map((n) => {
    const row = h('li', { class: n.read ? '' : 'unread', dataset: { type: n.type, id: n.id, petition: n.petition_id || '' } });
    const open = async (event) => {
      event.preventDefault();
      try { await markRead(n, row); } catch (err) { toast(describeError(err), 'error'); }
      if (n.petition_id) location.hash = `#/p/${n.petition_id}`;
    };
    row.append(h('a', { href: n.petition_id ? `#/p/${n.petition_id}` : '#/inbox', onclick: open },
      h('div', { class: 'inbox-top' }, h('strong', {}, n.title), h('span', { class: 'meta' }, fmtTime(n.created_at))),
      h('p', {}, n.body)));
    if (n.confirm_required) {
      row.append(h('div', { class: 'pcard-actions' }, n.confirmed
        ? h('span', { class: 'meta' }, L('已确认', 'Confirmed'))
        : h('button', { type: 'button', class: 'primary small', dataset: { action: 'confirm' }, onclick: async (event) => {
          event.currentTarget.disabled = true;
          try { await post(`/notifications/${encodeURIComponent(n.id)}/confirm`); toast(L('已确认收到', 'Confirmed')); ctx.rerender(); } catch (err) { toast(describeError(err), 'error'); event.currentTarget.disabled = false; }
        } }, L('确认已阅', 'Confirm I read it'))));
    }
    return row;
  }));
  const markAll = async () => {
    try {
      await post('/notifications/read-all', {});
      ctx.rerender();
    } catch (err) { toast(describeError(err), 'error'); }
  };
  return h('section', {},
    pageHeader(L('消息', 'Inbox'), body.unread ? h('button', { type: 'button', class: 'secondary small', onclick: markAll }, L('全部标为已读', 'Mark all read')) : null),
    h('p', { class: 'lead', 'data-testid': 'unread' }, L('{u} 条未读，共 {t} 条', '{u} unread of {t}', { u: body.unread || 0, t: body.total || 0 })),
    body.items.length ? list : empty(L('还没有消息。', 'No messages yet.')));
}
