import { L } from '../i18n.js';
import { h, pageHeader, unavailable } from '../ui.js';

const stub = (zh, en) => async () => h('section', {}, pageHeader(L(zh, en)), unavailable(L(zh, en)));
export const shopPage = stub('积分超市', 'Shop');
export const ordersPage = stub('我的兑换', 'My orders');
export const activitiesPage = stub('志愿活动', 'Activities');
export const claimsPage = stub('自主申报', 'Good deeds');
