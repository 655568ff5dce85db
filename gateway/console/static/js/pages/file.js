// A resident files a petition: the category's extra fields, their building preselected, photos by URL.
import { post } from '../api.js';
import { L, term } from '../i18n.js';
import { categories, state } from '../state.js';
import { field, form, h, input, link, pageHeader, select, statusBadge, textarea, urlList, value } from '../ui.js';

/** The control for one of the category's extra fields (an Open311 attribute). */
function attributeField(def) {
  const name = `attributes.${def.code}`;
  let control;
  if (def.type === 'single_choice') {
    control = select([{ value: '', label: L('请选择', 'Choose…') }, ...def.choices.map((c) => ({ value: c.key, label: c.name }))],
      { name, 'data-type': def.type });
  } else if (def.type === 'multiple_choice') {
    control = h('fieldset', { class: 'choices', 'data-type': def.type },
      def.choices.map((c) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value: c.key }), c.name)));
  } else if (def.type === 'number') {
    control = input({ name, type: 'number', inputmode: 'decimal', step: 'any', 'data-type': def.type });
  } else {
    control = input({ name, 'data-type': def.type, maxlength: 500 });
  }
  return field({ name, label: def.name, control, hint: def.description || null, required: def.required });
}

function attributesOf(el, def) {
  const out = {};
  for (const f of def ? def.fields : []) {
    const name = `attributes.${f.code}`;
    let v = value(el, name);
    if (f.type === 'multiple_choice') {
      v = [...el.querySelectorAll(`[name="${CSS.escape(name)}"]`)].filter((c) => c.checked).map((c) => c.value);
      if (!v.length) continue;
    } else if (v === undefined || v === '') continue;
    else if (f.type === 'number') {
      const n = Number(v);
      v = Number.isFinite(n) ? n : v;
    }
    out[f.code] = v;
  }
  return out;
}

export async function filePage(params, ctx) {
  const list = await categories();
  const issues = list.filter((c) => c.kind !== 'help');
  const help = list.filter((c) => c.kind === 'help');
  const wanted = new URLSearchParams(location.hash.split('?')[1] || '').get('category');
  const initial = list.find((c) => c.category === wanted) ? wanted : '';
  const categorySelect = select([
    { value: '', label: L('请选择类别', 'Choose a category') },
    ...(issues.length ? [{ group: term('kind', 'issue'), options: issues.map((c) => ({ value: c.category, label: c.name })) }] : []),
    ...(help.length ? [{ group: term('kind', 'help'), options: help.map((c) => ({ value: c.category, label: c.name })) }] : []),
  ], { name: 'category', value: initial });
  const categoryHint = h('p', { class: 'hint category-hint' });
  const extra = h('div', { class: 'extra-fields' });
  const byCode = Object.fromEntries(list.map((c) => [c.category, c]));

  function showCategory() {
    const def = byCode[categorySelect.value];
    categoryHint.textContent = def ? [def.description, def.kind === 'help'
      ? L('求助会先交给社区的报到党员认领。', 'A help request goes first to the party members of your community.')
      : def.department_name ? L('对口部门：{d}', 'Handled by: {d}', { d: def.department_name }) : ''].filter(Boolean).join(' · ') : '';
    extra.replaceChildren(...(def && def.fields.length
      ? [h('h2', { class: 'sub' }, L('补充信息', 'Details for this category')), ...def.fields.map(attributeField)] : []));
  }
  categorySelect.addEventListener('change', showCategory);

  const lat = input({ type: 'hidden', name: 'lat' });
  const lng = input({ type: 'hidden', name: 'lng' });
  const where = h('span', { class: 'hint' });
  const locate = h('button', {
    type: 'button', class: 'secondary small',
    onclick: () => {
      if (!navigator.geolocation) { where.textContent = L('此设备无法定位', 'This device cannot tell its location'); return; }
      where.textContent = L('正在定位…', 'Locating…');
      navigator.geolocation.getCurrentPosition((pos) => {
        lat.value = pos.coords.latitude.toFixed(6); lng.value = pos.coords.longitude.toFixed(6);
        where.textContent = `${lat.value}, ${lng.value}`;
      }, () => { where.textContent = L('未能定位，可以只填写地址', 'Could not locate: the address is enough'); }, { timeout: 10000 });
    },
  }, L('使用我的位置', 'Use my location'));

  const home = state.me.scope || '';
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  const f = form({
    submit: L('提交', 'Submit'),
    children: [
      h('div', { class: 'field', dataset: { field: 'category' } },
        h('label', { class: 'label', for: 'category' }, L('类别', 'Category'), h('span', { class: 'req' }, ' *')),
        Object.assign(categorySelect, { id: 'category' }), categoryHint,
        h('p', { class: 'field-error', role: 'alert', hidden: true })),
      field({ name: 'title', label: L('标题', 'Title'), required: true,
        control: input({ name: 'title', maxlength: 120, placeholder: L('一句话说明问题，如：28栋楼道灯不亮', 'In a few words, e.g. Stairwell light out in building 28') }) }),
      field({ name: 'description', label: L('详细描述', 'Description'),
        control: textarea({ name: 'description', rows: 4, maxlength: 2000, placeholder: L('时间、地点、情况……', 'When, where, what happened…') }) }),
      extra,
      field({ name: 'building_id', label: L('楼栋编号', 'Building'),
        control: input({ name: 'building_id', value: home, autocapitalize: 'none' }),
        hint: home ? L('默认是您所住的楼栋（{b}）；反映别的楼栋请改成它的编号。', 'Your own building ({b}) unless you change it.', { b: home }) : null }),
      field({ name: 'media', label: L('照片网址', 'Photo links'),
        control: textarea({ name: 'media', rows: 2, inputmode: 'url', autocapitalize: 'none', placeholder: 'https://…' }),
        hint: L('每行一个网址，最多 9 张。', 'One link per line, at most 9.') }),
      field({ name: 'address', label: L('详细地址', 'Address'), control: input({ name: 'address', maxlength: 200 }) }),
      h('div', { class: 'field', dataset: { field: 'location' } },
        h('span', { class: 'label' }, L('位置', 'Location')),
        h('div', { class: 'inline' }, locate, where), lat, lng,
        h('p', { class: 'field-error', role: 'alert', hidden: true })),
    ],
    action: async (el) => {
      const def = byCode[categorySelect.value];
      const body = {
        category: categorySelect.value, title: value(el, 'title').trim(), description: value(el, 'description').trim(),
        attributes: attributesOf(el, def), media: urlList(value(el, 'media')),
      };
      const building = value(el, 'building_id').trim();
      if (building) body.building_id = building;
      const address = value(el, 'address').trim();
      if (address) body.address = address;
      if (lat.value && lng.value) body.location = { lat: Number(lat.value), lng: Number(lng.value) };
      const petition = await post('/petitions', body);
      el.hidden = true;
      result.replaceChildren(h('div', { class: 'card success', 'data-testid': 'filed' },
        h('h2', {}, L('已提交', 'Submitted')),
        h('p', {}, L('编号 ', 'Number '), h('strong', { 'data-testid': 'petition-id' }, petition.id), ' ', statusBadge(petition.status)),
        h('p', {}, petition.kind === 'help'
          ? L('已通知社区的报到党员，有人认领后会告诉您。', 'The party members of your community have been told; you will hear when one takes it on.')
          : L('已通知楼栋长和网格员，处理进展会发到您的消息里。', 'Your building leader and grid worker have been told; progress comes to your inbox.')),
        petition.possible_duplicates && petition.possible_duplicates.length ? h('div', { class: 'notice' },
          h('strong', {}, L('近期同楼栋已有类似诉求：', 'Similar petitions from your building this week:')),
          h('ul', {}, petition.possible_duplicates.map((d) => h('li', {}, link(`#/p/${d.id}`, `${d.id} ${d.title}`), ' ', statusBadge(d.status))))) : null,
        h('div', { class: 'form-actions' },
          link(`#/p/${petition.id}`, L('查看进度', 'See its progress'), { class: 'button primary' }),
          h('button', { type: 'button', class: 'secondary', onclick: () => ctx.rerender() }, L('再提一个', 'File another')))));
    },
  });
  if (initial) showCategory();
  return h('section', {}, pageHeader(L('我要反映', 'Report a problem')),
    h('p', { class: 'lead' }, L('身边的问题、需要的帮助，都可以在这里提出。', 'Tell us about a problem nearby or ask for help.')),
    h('div', { class: 'card' }, f), result);
}
