import { L } from '../i18n.js';
import { h, pageHeader, unavailable } from '../ui.js';

export async function prefsPage() {
  return h('section', {}, pageHeader(L('通知设置', 'Notifications')), unavailable(L('通知设置', 'Notification preferences')));
}
