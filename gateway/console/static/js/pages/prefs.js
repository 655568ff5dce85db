// My notification preferences: which channels each kind of notice goes to (the inbox always), quiet hours,
// the phone and WeChat that SMS and WeChat reach, and the language of notices.
import { get, put } from '../api.js';
import { L } from '../i18n.js';
import { field, form, h, input, pageHeader, select, toast, value } from '../ui.js';

const CATEGORIES = {
  progress: ['我的诉求进展', 'Progress of my petitions'], task: ['新的待办（工作人员）', 'New work for me (staff)'],
  dispatch: ['派给本部门的诉求', 'Petitions dispatched to my department'], overdue: ['超时提醒', 'Time limits passed'],
  feedback: ['对我办理的评价', 'Ratings of what I handled'], points: ['积分到账', 'Points received'],
  activity: ['志愿活动', 'Volunteer activities'], claim: ['自主申报结果', 'My claims'], shop: ['积分兑换', 'Shop orders'],
  broadcast: ['社区通知（公示）', 'Community notices'], digest: ['每日汇总', 'Daily digest'],
};
const CHANNELS = { inbox: ['站内', 'Inbox'], sms: ['短信', 'SMS'], wechat: ['微信', 'WeChat'] };

export async function prefsPage(params, ctx) {
  const prefs = await get('/notifications/preferences');
  const quiet = prefs.quiet_hours || {};
  const contacts = prefs.contacts || {};
  const rows = prefs.categories.map((c) => h('tr', { dataset: { category: c.category } },
    h('th', { scope: 'row' }, CATEGORIES[c.category] ? L(...CATEGORIES[c.category]) : c.description,
      c.critical ? h('span', { class: 'badge warn' }, L('重要', 'Critical')) : null),
    Object.keys(CHANNELS).map((ch) => h('td', {}, h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: `channels.${c.category}`, value: ch, checked: c.channels.includes(ch), disabled: ch === 'inbox' || c.critical,
        'aria-label': `${CATEGORIES[c.category] ? L(...CATEGORIES[c.category]) : c.category}: ${L(...CHANNELS[ch])}` }))))));
  const f = form({
    submit: L('保存', 'Save'),
    children: [
      h('h2', {}, L('接收方式', 'Where notices go')),
      h('p', { class: 'hint' }, L('站内消息始终开启；标“重要”的通知不能关闭。短信、微信需要填写下面的联系方式。', 'The inbox is always on, and critical notices cannot be switched off. SMS and WeChat need the contacts below.')),
      h('div', { class: 'field', dataset: { field: 'channels' } },
        h('div', { class: 'table-wrap' }, h('table', { class: 'prefs' },
          h('thead', {}, h('tr', {}, h('th', {}, L('通知类型', 'Kind of notice')), Object.values(CHANNELS).map((n) => h('th', {}, L(...n))))),
          h('tbody', {}, rows))),
        h('p', { class: 'field-error', role: 'alert', hidden: true })),
      h('h2', {}, L('联系方式', 'Contacts')),
      h('div', { class: 'row2' },
        field({ name: 'contacts.sms', label: L('手机号码', 'Mobile number'), control: input({ name: 'contacts.sms', type: 'tel', inputmode: 'tel', value: contacts.sms || '' }) }),
        field({ name: 'contacts.wechat', label: L('微信 OpenID', 'WeChat OpenID'), control: input({ name: 'contacts.wechat', value: contacts.wechat || '', autocapitalize: 'none' }) })),
      h('h2', {}, L('免打扰时段', 'Quiet hours')),
      h('p', { class: 'hint' }, L('这段时间内短信和微信推迟到结束后发送；重要通知除外。', 'SMS and WeChat wait until the end of this period, except critical notices.')),
      h('div', { class: 'row2', dataset: { field: 'quiet_hours' } },
        field({ name: 'quiet_hours.start', label: L('开始', 'From'), control: input({ name: 'quiet_hours.start', placeholder: '22:00', value: quiet.start || '' }) }),
        field({ name: 'quiet_hours.end', label: L('结束', 'Until'), control: input({ name: 'quiet_hours.end', placeholder: '07:00', value: quiet.end || '' }) })),
      field({ name: 'locale', label: L('通知语言', 'Language of notices'),
        control: select([{ value: 'zh-CN', label: '中文' }, { value: 'en', label: 'English' }], { name: 'locale', value: prefs.locale || 'zh-CN' }) }),
    ],
    action: async (el) => {
      const channels = {};
      for (const c of prefs.categories.filter((x) => !x.critical)) { // critical notices reach every channel, always
        channels[c.category] = [...el.querySelectorAll(`[name="${CSS.escape(`channels.${c.category}`)}"]`)].filter((x) => x.checked).map((x) => x.value);
      }
      const start = value(el, 'quiet_hours.start').trim();
      const end = value(el, 'quiet_hours.end').trim();
      const contactsOut = {};
      for (const k of ['sms', 'wechat']) { const v = value(el, `contacts.${k}`).trim(); if (v) contactsOut[k] = v; }
      await put('/notifications/preferences', {
        channels, contacts: contactsOut, locale: value(el, 'locale'), quiet_hours: start || end ? { start, end } : null,
      });
      toast(L('已保存', 'Saved'));
      ctx.rerender();
    },
  });
  return h('section', {}, pageHeader(L('通知设置', 'Notification settings')), h('div', { class: 'card' }, f));
}
