// Every error the API returns, shown in plain words next to the field it names.
//
// The API answers {code, status, message, errors}; `errors` maps a field ("title",
// "attributes.hospital", "fields[0].choices", or nested {"media": {"0": [...]}}) to messages.
// showErrors() finds the field in the form by its data-field name, walking up the path
// ("location.lat" -> "location") when the form has no finer field, and puts the message there.
import { L } from './i18n.js';

// Field names the API uses, for errors that no field of the form claims.
export const FIELD_LABELS = {
  title: ['标题', 'Title'], description: ['详细描述', 'Description'], category: ['类别', 'Category'],
  building_id: ['楼栋', 'Building'], media: ['照片', 'Photos'], location: ['位置', 'Location'],
  address: ['地址', 'Address'], attributes: ['补充信息', 'Extra details'], reason: ['原因', 'Reason'],
  note: ['办理说明', 'Note'], score: ['评分', 'Rating'], comment: ['评价内容', 'Comment'],
  department_id: ['部门', 'Department'], into: ['合并到的诉求', 'Merge into'], outcome: ['回访结果', 'Outcome'],
  username: ['用户名', 'Username'], password: ['密码', 'Password'], name: ['名称', 'Name'],
  code: ['代码', 'Code'], kind: ['类型', 'Kind'], fields: ['补充字段', 'Fields'], status: ['状态', 'Status'],
  petition_id: ['诉求', 'Petition'], quantity: ['数量', 'Quantity'], item_id: ['商品', 'Item'],
  points: ['积分', 'Points'], capacity: ['名额', 'Capacity'], starts_at: ['开始时间', 'Start'],
  ends_at: ['结束时间', 'End'], place: ['地点', 'Place'], price: ['所需积分', 'Price'], stock: ['库存', 'Stock'],
  budget: ['预算', 'Budget'], sponsor: ['出资单位', 'Sponsor'], sponsor_department_id: ['出资部门', 'Sponsor department'],
  buildings: ['影响楼栋', 'Buildings'], petition_ids: ['关联诉求', 'Petitions'], add_petition_ids: ['再关联诉求', 'More petitions'],
  remove_petition_ids: ['取消关联', 'Unlinked petitions'], hotspot: ['热点', 'Hotspot'], grid_id: ['网格', 'Grid'], text: ['留言', 'Comment'],
  _schema: ['提交的内容', 'The form'],
};

// API messages (marshmallow's and the services') -> plain words. First match wins.
const MESSAGES = [
  [/^Missing data for required field\.?$/i, () => L('请填写这一项', 'Please fill this in')],
  [/^Field may not be null\.?$/i, () => L('请填写这一项', 'Please fill this in')],
  [/^required(: .*)?$/i, (m) => (m[1] ? L('请填写：{x}', 'Please fill in: {x}', { x: m[1].slice(2) })
    : L('请填写这一项', 'Please fill this in'))],
  [/^must not be blank$/i, () => L('不能只填空格', 'Must not be blank')],
  [/^Length must be between (\d+) and (\d+)\.?$/i, (m) => (m[1] === '1'
    ? L('请填写，最多 {b} 个字', 'Please fill this in (at most {b} characters)', { b: m[2] })
    : L('长度应为 {a} 到 {b} 个字', 'Must be {a} to {b} characters', { a: m[1], b: m[2] }))],
  [/^Shorter than minimum length (\d+)\.?$/i, (m) => (m[1] === '1'
    ? L('请填写这一项', 'Please fill this in') : L('至少 {a} 个字', 'At least {a} characters', { a: m[1] }))],
  [/^Longer than maximum length (\d+)\.?$/i, (m) => L('最多 {a} 个字', 'At most {a} characters', { a: m[1] })],
  [/^Not a valid URL\.?$/i, () => L('不是有效的网址，应以 http:// 或 https:// 开头', 'Not a web address: start it with http:// or https://')],
  [/^Not a valid (integer|number)\.?$/i, () => L('请填写数字', 'Please enter a number')],
  [/^must be a number$/i, () => L('请填写数字', 'Please enter a number')],
  [/^Not a valid (string|boolean|list|mapping type|datetime)\.?$/i, () => L('格式不对', 'Not in the right form')],
  [/^Must be greater than or equal to (-?[\d.]+) and less than or equal to (-?[\d.]+)\.?$/i,
    (m) => L('应在 {a} 到 {b} 之间', 'Must be between {a} and {b}', { a: m[1], b: m[2] })],
  [/^Must be greater than or equal to (-?[\d.]+)\.?$/i, (m) => L('不能小于 {a}', 'Must be at least {a}', { a: m[1] })],
  [/^Must be less than or equal to (-?[\d.]+)\.?$/i, (m) => L('不能大于 {a}', 'Must be at most {a}', { a: m[1] })],
  [/^Must be one of: .*$/i, () => L('请从给出的选项中选择', 'Please choose one of the options')],
  [/^must be one of .*$/i, () => L('请从给出的选项中选择', 'Please choose one of the options')],
  [/^unknown (type|kind) .*$/i, () => L('请从给出的选项中选择', 'Please choose one of the options')],
  [/^must be a list of distinct choices/i, () => L('请选择一项或多项（不要重复）', 'Choose one or more options')],
  [/^must be text of at most (\d+) characters$/i, (m) => L('最多 {a} 个字', 'At most {a} characters', { a: m[1] })],
  [/^Unknown field\.?$/i, () => L('无法识别这一项', 'Not a field this form takes')],
  [/^at most (\d+) photos or files$/i, (m) => L('最多 {a} 张照片', 'At most {a} photos', { a: m[1] })],
  [/^at most (\d+) (\w+)$/i, (m) => L('最多 {a} 项', 'At most {a}', { a: m[1] })],
  [/^no building '(.*)' in this district$/i, (m) => L('本辖区没有楼栋「{b}」', 'There is no building “{b}” here', { b: m[1] })],
  [/^required: you have no home building$/i, () => L('请填写楼栋编号', 'Please give the building')],
  [/^unknown category '(.*?)'.*$/i, () => L('请选择一个类别', 'Please choose a category')],
  [/^the category '.*' has no field '(.*)'$/i, () => L('这个类别没有这一项', 'This category has no such field')],
  [/^required: the catalogue suggests none$/i, () => L('请选择要派往的部门', 'Please choose a department')],
  [/^(no|unknown) department '(.*)'.*$/i, (m) => L('没有部门「{d}」', 'There is no department “{d}”', { d: m[2] })],
  [/^required for an issue category/i, () => L('问题类别必须指定负责部门', 'An issue category needs a department')],
  [/^must be another petition$/i, () => L('请填写另一件诉求的编号', 'Give another petition’s number')],
  [/^no petition '(.*)' in this district$/i, (m) => L('没有编号为 {p} 的诉求', 'There is no petition {p}', { p: m[1] })],
  [/^(.*) is not an open petition you handle$/i, (m) => L('{p} 不是您正在处理的未结诉求', '{p} is not an open petition you handle', { p: m[1] })],
  [/^a (single_choice|multiple_choice) field needs at least one choice$/i, () => L('选择题至少要有一个选项', 'A choice field needs at least one choice')],
  [/^a (string|number) field has no choices/i, () => L('文字或数字字段不需要选项', 'Only choice fields have choices')],
  [/^duplicate (key|code) (.*)$/i, (m) => L('重复：{x}', 'Used twice: {x}', { x: m[2] })],
  [/^must be 1-64 letters, digits, '_' or '-'$/i, () => L('只能用字母、数字、_ 或 -（最多 64 个）', "Letters, digits, '_' or '-' only (at most 64)")],
  [/^not found$/i, () => L('找不到', 'Not found')],
  [/^exists$/i, () => L('已经存在', 'Already exists')],
  [/^not enough points/i, () => L('积分不足', 'Not enough points')],
  [/^(out of stock|not enough stock)/i, () => L('库存不足', 'Not enough in stock')],
  [/^needs (\d+) points \(([\d.]+) yuan\), the balance is (-?\d+)$/i,
    (m) => L('需要 {n} 积分，您现有 {b} 积分', 'Needs {n} points; you have {b}', { n: m[1], b: m[3] })],
  [/^only (\d+) left$/i, (m) => L('只剩 {n} 件', 'Only {n} left', { n: m[1] })],
  [/^over the per-person limit$/i, () => L('超过每人限兑数量', 'Over the limit per person')],
  [/^at most (\d+) per person( a month)?; you have (\d+) already$/i,
    (m) => L('每人{p}最多 {n} 件，您已有 {h} 件', 'At most {n} per person{p2}; you have {h}', { n: m[1], h: m[3], p: m[2] ? '每月' : '', p2: m[2] || '' })],
  [/^(.*) is not on offer now$/i, () => L('这件商品暂不可兑换', 'This item is not on offer now')],
  [/^the item is not on offer$/i, () => L('这件商品暂不可兑换', 'This item is not on offer now')],
  [/^cannot write off more than the stock/i, () => L('核销数量不能超过库存', 'Cannot write off more than the stock')],
  [/^must be a whole number of points from (\d+) to (\d+)$/i, (m) => L('请填写 {a} 到 {b} 之间的整数', 'A whole number from {a} to {b}', { a: m[1], b: m[2] })],
  [/^must be from (-?\d+) to (-?\d+)$/i, (m) => L('应在 {a} 到 {b} 之间', 'Must be between {a} and {b}', { a: m[1], b: m[2] })],
  [/^the activity is full$/i, () => L('活动名额已满', 'The activity is full')],
  [/^all (\d+) places are taken$/i, (m) => L('{n} 个名额已满', 'All {n} places are taken', { n: m[1] })],
  [/^sign-up has closed/i, () => L('活动已开始，报名已截止', 'Sign-up has closed: the activity has started')],
  [/^the activity is cancelled$/i, () => L('活动已取消', 'The activity was cancelled')],
  [/^must be in the future$/i, () => L('时间应晚于现在', 'Must be in the future')],
  [/^the activity would start in the past$/i, () => L('开始时间已经过去', 'The start time has passed')],
  [/^must be after starts_at|^must end after it starts/i, () => L('结束时间应晚于开始时间', 'Must be after the start')],
  [/^only people who signed up can be checked in$/i, () => L('只能为已报名的人签到', 'Only people who signed up can be checked in')],
  [/^the claim is (\w+) already$/i, () => L('这条申报已经审核过了', 'This claim was decided already')],
  [/^nobody decides their own claim$/i, () => L('不能审核自己的申报', 'Nobody decides their own claim')],
  [/^the order is (\w+): only a reserved order can be (picked up|cancelled)$/i, () => L('这笔兑换已领取或已取消', 'This order was picked up or cancelled already')],
  [/^unknown channel '.*'/i, () => L('请从给出的方式中选择', 'Choose one of the channels')],
  [/^must be a time HH:MM/i, () => L('请按 时:分 填写，如 22:00', 'Give a time like 22:00')],
  [/notices are critical: they cannot be switched off/i, () => L('重要通知不能关闭或更改', 'Critical notices cannot be switched off')],
  [/^(\S+) is in open project (\S+)$/i, (m) => L('{p} 已在微项目 {x} 中', '{p} is in project {x} already', { p: m[1], x: m[2] })],
  [/^(\S+) is not in your community$/i, (m) => L('{p} 不在您的社区', '{p} is not in your community', { p: m[1] })],
  [/^(\S+) is (\w+): only open petitions join a project$/i, (m) => L('{p} 已结束，只有未办结的诉求能加入微项目', '{p} is finished: only open petitions join a project', { p: m[1] })],
  [/^at most two decimals/i, () => L('最多两位小数（元、角、分）', 'At most two decimals')],
  [/^name either a building_id or a grid_id$/i, () => L('请填写楼栋或网格（二选一）', 'Give a building or a grid')],
  [/^give either petition_ids or a hotspot$/i, () => L('请至少选择一件诉求', 'Choose at least one petition')],
  [/^no open (\S+) petitions you see under (\S+)$/i, (m) => L('{n} 没有这一类未办结的诉求', 'No open petitions of that kind under {n}', { n: m[2] })],
  [/^required before approval$/i, () => L('审批前需要填写', 'Needed before approval')],
  [/^approved: a district admin changes it$/i, () => L('已立项，只有区管理员能修改', 'Approved: the district administrator changes it')],
  [/^required: say why it is cancelled$/i, () => L('请填写取消原因', 'Say why it is cancelled')],
  [/^nothing to change$/i, () => L('没有要修改的内容', 'Nothing was changed')],
  [/^must be a phone number/i, () => L('请填写手机号码（只含数字，可以 + 开头）', 'Give a phone number (digits, optionally a leading +)')],
];

export function humanize(message) {
  const text = String(message ?? '').trim();
  for (const [pattern, render] of MESSAGES) {
    const m = text.match(pattern);
    if (m) return render(m);
  }
  return text;
}

export function fieldLabel(name) {
  const row = FIELD_LABELS[name];
  return row ? L(row[0], row[1]) : name;
}

/** What went wrong, for the top of a form or a notice: by status, in plain words. */
export function describeError(err) {
  const status = err && err.status;
  const apiMessage = (err && err.body && err.body.message) || '';
  if (status === 0) return L('网络连接失败，请检查网络后重试', 'Could not reach the server: check the connection and try again');
  if (status === 401) {
    return /wrong username or password/i.test(apiMessage)
      ? L('用户名或密码不正确', 'Wrong username or password')
      : L('登录已过期，请重新登录', 'Your session has ended: please sign in again');
  }
  if (status === 403) return L('您没有权限进行这项操作', 'You are not allowed to do this');
  if (status === 404) return L('找不到要找的内容，它可能不在您的辖区内', 'Not found: it may not be in your area');
  if (status === 409) {
    const plain = humanize(apiMessage);
    if (plain !== apiMessage.trim() && plain) return plain;
    if (/changed meanwhile/i.test(apiMessage)) return L('内容刚被别人修改过，请刷新后再试', 'Someone changed it meanwhile: reload and try again');
    if (/^cannot \w+ a petition that is (\w+)/i.test(apiMessage)) {
      return L('诉求当前的状态不允许这项操作，请刷新查看最新进度', 'The petition’s current state does not allow this: reload to see where it stands');
    }
    return L('当前状态不允许这项操作：{m}', 'Not possible in the current state: {m}', { m: humanize(apiMessage) });
  }
  if (status === 422 || status === 400) return L('请检查标出的内容', 'Please check the marked fields');
  if (status === 429) return L('操作太频繁，请稍后再试', 'Too many requests: try again shortly');
  if (status === 503) return L('服务暂时不可用，请稍后再试', 'The service is busy: try again shortly');
  if (status >= 500) return L('服务器出错了，请稍后再试', 'Something went wrong on the server: try again later');
  return humanize(apiMessage) || L('操作失败', 'That did not work');
}

/** {"media": {"0": ["..."]}, "title": ["..."]} -> [{parts: ["media", "0"], messages: [...]}, ...] */
export function flattenErrors(errors, prefix = []) {
  const out = [];
  if (!errors || typeof errors !== 'object') return out;
  for (const [key, value] of Object.entries(errors)) {
    // "fields[0].choices" and "attributes.hospital" are paths too
    const parts = [...prefix, ...String(key).replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean)];
    if (Array.isArray(value)) {
      const strings = value.filter((v) => typeof v !== 'object');
      if (strings.length) out.push({ parts, messages: strings });
      value.filter((v) => v && typeof v === 'object').forEach((v) => out.push(...flattenErrors(v, parts)));
    } else if (value && typeof value === 'object') {
      out.push(...flattenErrors(value, parts));
    } else {
      out.push({ parts, messages: [String(value)] });
    }
  }
  return out;
}

function pathNames(parts) {
  // "fields.0.choices" is also looked up as "fields[0].choices"
  const dotted = parts.join('.');
  const bracketed = parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : (acc ? `${acc}.${p}` : p)), '');
  return dotted === bracketed ? [dotted] : [bracketed, dotted];
}

function findField(form, parts) {
  for (let n = parts.length; n > 0; n -= 1) {
    for (const name of pathNames(parts.slice(0, n))) {
      const el = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
      if (el) return { el, rest: parts.slice(n) };
    }
  }
  return null;
}

function restPrefix(rest) {
  // what is left of the path once a field claimed it: "media" + ["2"] -> "第 3 项："
  const parts = rest.map((p) => (/^\d+$/.test(p) ? L('第 {n} 项', 'item {n}', { n: Number(p) + 1 }) : fieldLabel(p)));
  return parts.length ? parts.join(' · ') + L('：', ': ') : '';
}

export function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((el) => { el.textContent = ''; el.hidden = true; });
  form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  form.querySelectorAll('.field.has-error').forEach((el) => el.classList.remove('has-error'));
  const banner = form.querySelector('.form-error');
  if (banner) { banner.textContent = ''; banner.hidden = true; }
}

/** Show an ApiError on a form: each message next to its field, the rest at the top. */
export function showErrors(form, err) {
  clearErrors(form);
  const leftovers = [];
  let first = null;
  for (const { parts, messages } of flattenErrors(err.errors)) {
    const text = messages.map(humanize).join('；');
    const found = parts.length ? findField(form, parts) : null;
    if (!found) {
      const label = parts.length ? parts.map((p) => (/^\d+$/.test(p) ? `#${Number(p) + 1}` : fieldLabel(p))).join(' · ') : '';
      leftovers.push(label ? `${label}${L('：', ': ')}${text}` : text);
      continue;
    }
    const slot = found.el.querySelector(':scope > .field-error');
    const line = restPrefix(found.rest) + text;
    slot.textContent = slot.textContent ? `${slot.textContent}；${line}` : line;
    slot.hidden = false;
    found.el.classList.add('has-error');
    const control = found.el.querySelector('input, select, textarea');
    if (control) control.setAttribute('aria-invalid', 'true');
    if (!first) first = control || found.el;
  }
  const banner = form.querySelector('.form-error');
  if (banner) {
    const lines = [describeError(err), ...leftovers];
    banner.replaceChildren(...lines.map((line, i) => {
      const p = document.createElement(i === 0 ? 'strong' : 'p');
      p.textContent = line;
      return p;
    }));
    banner.title = err.body && err.body.message ? err.body.message : '';
    banner.hidden = false;
  }
  if (first && first.focus) first.focus({ preventScroll: false });
  else if (banner) banner.scrollIntoView({ block: 'nearest' });
}
