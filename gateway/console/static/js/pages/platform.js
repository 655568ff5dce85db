// The platform administrator: create a district and set it up from one document (nodes, departments, people, categories).
import { post } from '../api.js';
import { L } from '../i18n.js';
import { field, form, h, input, pageHeader, textarea, toast, value } from '../ui.js';

export async function platformPage() {
  const created = form({
    submit: L('创建', 'Create'),
    children: [
      field({ name: 'code', label: L('区代码', 'District code'), required: true, control: input({ name: 'code', autocapitalize: 'none', placeholder: 'hb' }),
        hint: L('小写字母开头，2–32 位字母、数字或 -。', 'A lower-case letter, then 1–31 of a-z, 0-9 or -.') }),
      field({ name: 'name', label: L('名称', 'Name'), required: true, control: input({ name: 'name', placeholder: '河边镇' }) }),
    ],
    action: async (el) => {
      const d = await post('/districts', { code: value(el, 'code').trim(), name: value(el, 'name').trim() });
      toast(L('已创建 {n}', 'Created {n}', { n: d.name }));
      const target = document.querySelector('[name="district"]');
      if (target) target.value = d.code;
    },
  });
  const imported = h('div', { 'aria-live': 'polite' });
  const fileInput = h('input', { type: 'file', accept: 'application/json,.json', 'aria-label': L('选择文件', 'Choose a file') });
  const imp = form({
    submit: L('导入', 'Import'),
    children: [
      field({ name: 'district', label: L('区代码', 'District code'), required: true, control: input({ name: 'district', autocapitalize: 'none' }) }),
      field({ name: '_schema', label: L('设置文档（JSON）', 'Set-up document (JSON)'), wide: true, control: textarea({ name: 'document', rows: 8, spellcheck: 'false', class: 'mono',
        placeholder: '{"nodes": [...], "departments": [...], "users": [...], "categories": [...]}' }),
      hint: L('可以粘贴，也可以选择文件。全部成功才写入；有问题会逐条指出。', 'Paste it or choose a file. All or nothing: every problem is named.') }),
      fileInput,
    ],
    action: async (el) => {
      let doc;
      try { doc = JSON.parse(value(el, 'document')); } catch (err) {
        throw { status: 422, errors: { _schema: [L('不是有效的 JSON：', 'Not valid JSON: ') + err.message] }, body: {} };
      }
      delete doc.district;
      const counts = await post(`/districts/${encodeURIComponent(value(el, 'district').trim())}/import`, doc);
      imported.replaceChildren(h('div', { class: 'notice good' }, L('已导入：{n} 个节点、{d} 个部门、{u} 个用户、{c} 个类别', 'Imported: {n} nodes, {d} departments, {u} users, {c} categories',
        { n: counts.nodes, d: counts.departments, u: counts.users, c: counts.categories })));
    },
  });
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files[0];
    if (!file) return;
    const text = await file.text();
    imp.querySelector('[name="document"]').value = text;
    try { const doc = JSON.parse(text); if (doc.district && doc.district.code) imp.querySelector('[name="district"]').value = doc.district.code; } catch (err) { /* shown on import */ }
  });
  return h('section', {},
    pageHeader(L('平台管理', 'Platform')),
    h('div', { class: 'grid2' },
      h('div', { class: 'card' }, h('h2', {}, L('新建区', 'New district')), created),
      h('div', { class: 'card' }, h('h2', {}, L('导入区的设置', 'Set up a district')), imp, imported)),
    h('p', { class: 'hint' }, L('接口文档：', 'API reference: '), h('a', { href: '/api/v1/docs' }, '/api/v1/docs')));
}
