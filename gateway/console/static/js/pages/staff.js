import { L } from '../i18n.js';
import { h, pageHeader, unavailable } from '../ui.js';

const stub = (zh, en) => async () => h('section', {}, pageHeader(L(zh, en)), unavailable(L(zh, en)));
export const staffActivitiesPage = stub('活动签到', 'Activities & check-in');
export const staffClaimsPage = stub('申报审核', 'Claim approvals');
export const staffShopPage = stub('商品与自提', 'Shop & pickups');
export const broadcastsPage = stub('广播通知', 'Broadcasts');
