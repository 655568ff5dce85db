import { post, setToken } from '../api.js';
import { L } from '../i18n.js';
import { field, form, h, input, value } from '../ui.js';

export function loginPage({ langButton, onSignedIn }) {
  const f = form({
    submit: L('登录', 'Sign in'),
    children: [
      field({ name: 'username', label: L('用户名', 'Username'), control: input({ name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' }) }),
      field({ name: 'password', label: L('密码', 'Password'), control: input({ name: 'password', type: 'password', autocomplete: 'current-password' }) }),
    ],
    action: async (el) => {
      const body = await post('/auth/token', { username: value(el, 'username').trim(), password: value(el, 'password') });
      setToken(body.access_token);
      await onSignedIn();
    },
  });
  return h('main', { class: 'solo login', id: 'main' },
    h('div', { class: 'login-top' }, langButton()),
    h('div', { class: 'card login-card' },
      h('div', { class: 'brand big' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '网'), L('网格通', 'CivicGrid')),
      h('p', { class: 'tagline' }, L('小事不出网格，大事社区吹哨、部门报到', 'Small matters stay in the grid; bigger ones are whistled up to the community and its departments')),
      h('h1', {}, L('登录', 'Sign in')),
      f,
      h('p', { class: 'hint' }, L('账号由社区或区管理员开通。', 'Accounts are set up by your community or district administrator.'))));
}
