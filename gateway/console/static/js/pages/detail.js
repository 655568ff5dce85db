// One petition: what was asked, where it stands, its deadline and timeline, and what I can do about it.
import { get, post } from '../api.js';
import { allowedActions } from '../actions.js';
import { L, term } from '../i18n.js';
import { categoryOf, departments, state } from '../state.js';
import {
  deadlineNote, errorBox, field, fmtTime, form, h, input, pageHeader, photos, select, stars, statusBadge, textarea,
  toast, urlList, value,
} from '../ui.js';

function attributeRows(p, def) {
  const defs = Object.fromEntries(((def && def.fields) || []).map((f) => [f.code, f]));
  return Object.entries(p.attributes || {}).map(([code, v]) => {
    const f = defs[code];
    const choice = (key) => ((f && f.choices.find((c) => c.key === key)) || { name: key }).name;
    const shown = Array.isArray(v) ? v.map(choice).join('、') : f && f.choices.length ? choice(v) : String(v);
    return [f ? f.name : code, shown];
  });
}

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function timeline(p, deptNames) {
  return h('ol', { class: 'timeline' }, p.timeline.map((e) => {
    let note = e.note;
    if (e.action === 'dispatch' && note) note = deptNames[note] || note;
    return h('li', { dataset: { action: e.action } },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('div', {},
        h('strong', {}, term('action', e.action)),
        h('span', { class: 'meta' }, ' ', e.actor === 'system' ? term('role', 'system') : e.actor,
          e.role && e.actor !== 'system' ? `（${term('role', e.role)}）` : '', ' · ', fmtTime(e.at)),
        note ? h('p', { class: 'note' }, note) : null));
  }));
}

// -- the action forms ----------------------------------------------------------------------

function actionForms(p, deptList, done) {
  const id = encodeURIComponent(p.id);
  const act = (action, body) => post(`/petitions/${id}/${action}`, body);
  const forms = [];
  const allowed = allowedActions(p);
  const box = (action, title, content, lead) => h('div', { class: 'card action', dataset: { action } },
    h('h2', {}, title), lead ? h('p', { class: 'hint' }, lead) : null, content);

  if (allowed.includes('claim')) {
    forms.push(box('claim', L('认领', 'Claim'), form({
      submit: L('认领并办理', 'Claim it'),
      action: async () => done(await act('claim'), L('已认领', 'Claimed')),
    }), p.level === 'party' ? L('居民吹哨，党员报到：认领后由您负责帮办。', 'You will handle this help request.')
      : L('认领后由您负责办理；办不了可以吹哨上报。', 'Once claimed it is yours; whistle it up if you cannot handle it.')));
  }
  if (allowed.includes('accept')) {
    forms.push(box('accept', L('接单', 'Accept'), form({
      submit: L('接单', 'Accept'), action: async () => done(await act('accept'), L('已接单', 'Accepted')),
    })));
  }
  if (allowed.includes('rate')) {
    const starsInput = h('fieldset', { class: 'choices stars-input' }, [5, 4, 3, 2, 1].map((n) => h('label', { class: 'star' },
      h('input', { type: 'radio', name: 'score', value: String(n) }),
      h('span', {}, '★'.repeat(n)), h('span', { class: 'star-text' }, L(['', '很不满意', '不满意', '一般', '满意', '非常满意'][n], ['', 'Very poor', 'Poor', 'OK', 'Good', 'Excellent'][n])))));
    forms.push(box('rate', L('评价办理结果', 'Rate the result'), form({
      submit: L('提交评价', 'Send rating'),
      children: [
        field({ name: 'score', label: L('满意度', 'How satisfied are you?'), control: starsInput, required: true }),
        field({ name: 'comment', label: L('评价内容', 'Comment'), control: textarea({ name: 'comment', maxlength: 500 }) }),
      ],
      action: async (el) => {
        const score = value(el, 'score');
        const body = { comment: value(el, 'comment').trim() };
        if (score) body.score = Number(score);
        done(await act('rate', body), L('感谢您的评价！', 'Thank you for your rating!'));
      },
    }), L('评价后诉求归档，您将获得积分。', 'Rating closes the petition and earns you points.')));
  }
  if (allowed.includes('resolve')) {
    forms.push(box('resolve', L('办结', 'Resolve'), form({
      submit: L('办结', 'Mark resolved'),
      children: [
        field({ name: 'note', label: L('办理说明', 'What was done'), required: true, control: textarea({ name: 'note', rows: 3, maxlength: 2000 }) }),
        field({ name: 'media', label: L('现场照片网址', 'Photo links'), control: textarea({ name: 'media', rows: 2, inputmode: 'url', autocapitalize: 'none', placeholder: 'https://…' }),
          hint: L('每行一个网址，最多 9 张。', 'One link per line, at most 9.') }),
      ],
      action: async (el) => done(await act('resolve', { note: value(el, 'note').trim(), media: urlList(value(el, 'media')) }), L('已办结，等待居民评价', 'Resolved: waiting for the resident’s rating')),
    })));
  }
  if (allowed.includes('dispatch')) {
    const suggested = p.suggested_department_id;
    const deptSelect = select([{ value: '', label: L('请选择部门', 'Choose a department') },
      ...deptList.map((d) => ({ value: d.id, label: d.id === suggested ? `${d.name} ${L('（目录推荐）', '(suggested)')}` : d.name }))],
    { name: 'department_id', value: suggested || '' });
    forms.push(box('dispatch', L('派单到部门（社区吹哨，部门报到）', 'Dispatch to a department'), form({
      submit: L('派单', 'Dispatch'),
      children: [field({ name: 'department_id', label: L('部门', 'Department'), control: deptSelect, required: true,
        hint: suggested ? L('已按类别预选对口部门。', 'The catalogue’s department for this category is preselected.') : null })],
      action: async (el) => {
        const dept = value(el, 'department_id');
        done(await act('dispatch', dept ? { department_id: dept } : {}), L('已派单', 'Dispatched'));
      },
    })));
  }
  if (allowed.includes('escalate')) {
    forms.push(box('escalate', p.level === 'party' ? L('转网格处理', 'Pass to the grid') : L('吹哨上报社区', 'Whistle up to the community'), form({
      submit: L('上报', 'Escalate'),
      children: [field({ name: 'reason', label: L('上报原因', 'Reason'), required: true, control: textarea({ name: 'reason', rows: 2, maxlength: 500 }) })],
      action: async (el) => done(await act('escalate', { reason: value(el, 'reason').trim() }), L('已上报', 'Escalated')),
    }), L('网格解决不了的，吹哨请社区处理。', 'If the grid cannot solve it, the community takes over.')));
  }
  if (allowed.includes('return')) {
    forms.push(box('return', L('退单', 'Return to the community'), form({
      submit: L('退回社区', 'Return'),
      children: [field({ name: 'reason', label: L('退单原因', 'Reason'), required: true, control: textarea({ name: 'reason', rows: 2, maxlength: 500 }) })],
      action: async (el) => done(await act('return', { reason: value(el, 'reason').trim() }), L('已退回社区', 'Returned')),
    }), L('不属于本部门职责时退回社区重新派单。', 'When it is not your department’s job, the community dispatches it again.')));
  }
  if (allowed.includes('follow_up')) {
    const outcomes = h('fieldset', { class: 'choices' }, ['contacted', 'reopened', 'closed'].map((o) => h('label', { class: 'check' },
      h('input', { type: 'radio', name: 'outcome', value: o }), term('outcome', o))));
    forms.push(box('follow_up', L('记录回访', 'Record the follow-up'), form({
      submit: L('保存回访', 'Save'),
      children: [
        field({ name: 'outcome', label: L('回访结果', 'Outcome'), control: outcomes, required: true }),
        field({ name: 'note', label: L('回访记录', 'Notes'), required: true, control: textarea({ name: 'note', rows: 3 }) }),
      ],
      action: async (el) => {
        const body = { note: value(el, 'note').trim() };
        const outcome = value(el, 'outcome');
        if (outcome) body.outcome = outcome;
        done(await post(`/petitions/${id}/follow-up`, body), L('回访已记录', 'Follow-up recorded'));
      },
    }), L('居民给了低分评价，请联系居民了解情况。', 'The resident gave a low rating: contact them.')));
  }
  if (allowed.includes('merge')) {
    forms.push(box('merge', L('合并重复诉求', 'Merge a duplicate'), form({
      submit: L('合并', 'Merge'),
      children: [field({ name: 'into', label: L('合并到（原诉求编号）', 'Into (original petition number)'), required: true, control: input({ name: 'into', autocapitalize: 'none', placeholder: 'hb-000001' }) })],
      action: async (el) => done(await act('merge', { into: value(el, 'into').trim() }), L('已合并', 'Merged')),
    }), L('重复的诉求合并后，提出人会跟进原诉求的进展。', 'Its resident then follows the original.')));
  }
  if (allowed.includes('withdraw')) {
    forms.push(h('details', { class: 'card action subtle', dataset: { action: 'withdraw' } },
      h('summary', {}, L('撤回诉求', 'Withdraw this petition')),
      form({ submit: L('确认撤回', 'Withdraw'), action: async () => done(await act('withdraw'), L('已撤回', 'Withdrawn')) })));
  }
  return forms;
}

export async function detailPage({ id }, ctx) {
  let p;
  try {
    p = await get(`/petitions/${encodeURIComponent(id)}`);
  } catch (err) {
    return h('section', {}, pageHeader(id), errorBox(err));
  }
  const [def, deptList] = await Promise.all([categoryOf(p.category), departments().catch(() => [])]);
  const deptNames = Object.fromEntries(deptList.map((d) => [d.id, d.name]));
  const section = h('section', { class: 'detail', dataset: { id: p.id, status: p.status } });

  function draw(petition) {
    p = petition;
    const done = (next, message) => { toast(message); draw(next); window.scrollTo({ top: 0 }); };
    const forms = actionForms(p, deptList, done);
    section.dataset.status = p.status;
    section.replaceChildren(
      h('a', { class: 'back', href: '#/', onclick: (e) => { if (history.length > 1) { e.preventDefault(); history.back(); } } }, L('‹ 返回', '‹ Back')),
      pageHeader(p.title),
      h('div', { class: 'pcard-top' }, h('span', { class: 'pid' }, p.id), statusBadge(p.status),
        h('span', { class: 'level' }, L('当前层级：', 'Level: ') + term('level', p.level)), deadlineNote(p)),
      h('div', { class: 'columns' },
        h('div', { class: 'col-main' },
          h('div', { class: 'card' },
            p.description ? h('p', { class: 'description' }, p.description) : null,
            facts([
              [L('类别', 'Category'), def ? def.name : p.category],
              [L('楼栋', 'Building'), p.building_id],
              [L('地址', 'Address'), p.address],
              [L('位置', 'Location'), p.location ? `${p.location.lat}, ${p.location.lng}` : null],
              [L('提出人', 'Filed by'), p.resident_id],
              [L('提出时间', 'Filed'), fmtTime(p.created_at)],
              ...attributeRows(p, def),
              [L('对口部门', 'Suggested department'), p.suggested_department_id ? deptNames[p.suggested_department_id] || p.suggested_department_id : null],
              [L('承办部门', 'Department'), p.department_id ? deptNames[p.department_id] || p.department_id : null],
              [L('当前办理人', 'Handled by'), p.handler_id],
              [L('合并到', 'Merged into'), p.merged_into ? h('a', { href: `#/p/${p.merged_into}` }, p.merged_into) : null],
              [L('关联诉求', 'Linked from'), p.linked_from ? h('a', { href: `#/p/${p.linked_from}` }, p.linked_from) : null],
            ]),
            photos(p.media)),
          p.resolution ? h('div', { class: 'card resolution' },
            h('h2', {}, L('办理结果', 'Resolution')),
            h('p', {}, p.resolution),
            facts([[L('办结人', 'Resolved by'), p.resolved_by]]),
            photos(p.resolution_media),
            p.rating ? h('p', { class: 'stars big', 'data-testid': 'rating' }, stars(p.rating), ' ', L('{n} 星', '{n} stars', { n: p.rating })) : null,
            p.comment ? h('p', { class: 'note' }, p.comment) : null) : null,
          p.follow_up ? h('div', { class: 'card' }, h('h2', {}, L('回访', 'Follow-up')),
            facts([[L('状态', 'Status'), p.follow_up.status === 'open' ? L('待回访', 'Open') : L('已回访', 'Done')],
              [L('结果', 'Outcome'), p.follow_up.outcome ? term('outcome', p.follow_up.outcome) : null],
              [L('记录', 'Notes'), p.follow_up.note], [L('回访人', 'By'), p.follow_up.recorded_by],
              [L('新诉求', 'New petition'), p.follow_up.linked_petition_id ? h('a', { href: `#/p/${p.follow_up.linked_petition_id}` }, p.follow_up.linked_petition_id) : null]])) : null,
          forms.length ? h('div', { class: 'actions' }, forms) : null),
        h('div', { class: 'col-side' },
          h('div', { class: 'card' }, h('h2', {}, L('办理进度', 'Timeline')), timeline(p, deptNames)))));
  }
  draw(p);
  return section;
}
