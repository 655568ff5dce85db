// Chinese by default, English on request. Texts live where they are used, as L('中文', 'English');
// the words the API sends back as codes (states, levels, actions, roles) are translated here.

const KEY = 'cg.lang';
let lang = localStorage.getItem(KEY) === 'en' ? 'en' : 'zh';
const listeners = [];

export function getLang() { return lang; }
export function locale() { return lang === 'en' ? 'en-GB' : 'zh-CN'; }

export function setLang(next) {
  lang = next === 'en' ? 'en' : 'zh';
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  listeners.forEach((fn) => fn(lang));
}

export function onLangChange(fn) { listeners.push(fn); }

/** The text in the current language; `{name}` placeholders are filled from `vars`. */
export function L(zh, en, vars) {
  let text = lang === 'en' && en ? en : zh;
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return text;
}

const TABLES = {
  status: {
    submitted: ['待认领', 'Waiting'], in_progress: ['办理中', 'In progress'], escalated: ['已上报社区', 'Escalated'],
    dispatched: ['已派单', 'Dispatched'], resolved: ['已办结待评价', 'Resolved'], closed: ['已归档', 'Closed'],
    withdrawn: ['已撤回', 'Withdrawn'], merged: ['已合并', 'Merged'],
  },
  level: {
    party: ['党员', 'Party members'], grid: ['网格', 'Grid'], community: ['社区', 'Community'],
    department: ['部门', 'Department'],
  },
  action: {
    submit: ['提交诉求', 'Submitted'], claim: ['认领', 'Claimed'], escalate: ['吹哨上报', 'Escalated'],
    dispatch: ['派单', 'Dispatched'], accept: ['接单', 'Accepted'], return: ['退单', 'Returned'],
    resolve: ['办结', 'Resolved'], rate: ['评价', 'Rated'], withdraw: ['撤回', 'Withdrawn'],
    merge: ['合并', 'Merged'], follow_up: ['回访', 'Follow-up'], overdue: ['超时', 'Overdue'],
    reopen: ['重新提出', 'Reopened'], close: ['自动归档', 'Closed'],
  },
  role: {
    resident: ['居民', 'Resident'], building_leader: ['楼栋长', 'Building leader'], grid_worker: ['网格员', 'Grid worker'],
    grid_leader: ['网格长', 'Grid leader'], community_staff: ['社区工作人员', 'Community staff'],
    party_member: ['报到党员', 'Party member'], department_staff: ['部门工作人员', 'Department staff'],
    volunteer: ['志愿者', 'Volunteer'], district_admin: ['区管理员', 'District admin'],
    organisation_member: ['驻区单位成员', 'Organisation member'],
    platform_admin: ['平台管理员', 'Platform admin'], system: ['系统', 'System'],
  },
  deadline: {
    claim: ['认领', 'claim'], resolve: ['办结', 'resolve'], dispatch: ['派单', 'dispatch'],
    accept: ['接单', 'accept'], rate: ['评价', 'rating'],
  },
  kind: { issue: ['问题反映', 'Issue'], help: ['求助（党员报到）', 'Help request (party members)'] },
  care: { red: ['红色连心户', 'Red: close care'], orange: ['橙色关心户', 'Orange: watched over'], green: ['绿色放心户', 'Green: doing well'] },
  outcome: { contacted: ['已联系居民', 'Contacted'], reopened: ['重新立案', 'Reopened'], closed: ['已结案', 'Closed'] },
  fieldType: {
    string: ['文字', 'Text'], number: ['数字', 'Number'], single_choice: ['单选', 'Single choice'],
    multiple_choice: ['多选', 'Multiple choice'],
  },
};

/** The label of a code from one of the tables above (the code itself when unknown). */
export function term(table, code) {
  const row = TABLES[table] && TABLES[table][code];
  if (!row) return code == null ? '' : String(code);
  return lang === 'en' ? row[1] : row[0];
}

export function codes(table) { return Object.keys(TABLES[table] || {}); }
