// 审批消息桥 管理后台: plain ES2020, no framework, no build step.
// Every value from the server goes into the DOM as text (textContent / text nodes), never as HTML:
// payloads, reasons and names are hostile input. The admin token lives in sessionStorage and only
// ever travels in the Authorization header.

const TOKEN_KEY = 'gcp-bridge-admin-token';
const OPENID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;
const PAGE_SIZE = 20;

const STATUS_LABELS = {
  processing: ['处理中', 'info'],
  delivered: ['已送达', 'ok'],
  sandbox: ['沙箱（未发送）', 'warn'],
  failed: ['失败', 'err'],
  unknown: ['结果未知', 'warn'],
  rejected: ['已拒收', 'err'],
};

const APPROVAL_LABELS = {
  guid: '消息ID',
  senderId: '发送方',
  receiverId: '接收方',
  employeeNo: '申请人工号',
  operator: '经办人工号',
  billType: '单据类型',
  billNum: '单据编号',
  approvalDate: '审批时间',
  approvalOpinion: '审批意见',
};

const ITEM_LABELS = { projectName: '项目名称', pi: '卡主工号', cardNum: '卡号' };

const AUDIT_ACTIONS = { create: ['新增', 'ok'], update: ['修改', 'info'], delete: ['删除', 'err'] };

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  actor: '',
  sandbox: null,
  seq: 0,
  employees: { q: '', active: '', offset: 0 },
  messages: { outcome: '', employeeNo: '', guid: '', from: '', to: '', q: '', offset: 0 },
  audit: { employeeNo: '', offset: 0 },
  lastResend: null,
  importJob: null,
};

// ---------------------------------------------------------------- DOM helpers

const $ = (selector, root = document) => root.querySelector(selector);

/** Creates an element; strings among the children become text nodes (never parsed as HTML). */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value); // CSSOM: allowed under the page's CSP (style-src 'self')
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function clear(el) {
  el.replaceChildren();
  return el;
}

/** A table cell that carries its column name, for the one-card-per-row layout on phones. */
function td(label, content, cls) {
  return h('td', { class: cls, 'data-label': label }, content);
}

function emptyRow(colspan, text) {
  return h('tr', null, h('td', { class: 'empty', colspan }, text));
}

function badge(text, kind) {
  return h('span', { class: `badge ${kind || ''}`.trim() }, text);
}

function statusBadge(status) {
  const [label, kind] = STATUS_LABELS[status] || [status || '—', ''];
  return badge(label, kind);
}

function ackBadge(code) {
  if (!code) return badge('—');
  return badge(code, code === 'AA' ? 'ok' : 'err');
}

function showError(el, message) {
  if (!message) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.textContent = message;
  el.hidden = false;
}

let toastTimer = null;
function toast(message, kind) {
  const el = $('#toast');
  el.textContent = message;
  el.className = `toast ${kind || ''}`.trim();
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, kind === 'error' ? 8000 : 4000);
}

function pad(n) {
  return String(n).padStart(2, '0');
}

function fmtTime(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} 秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} 分钟`;
  const hrs = Math.floor(m / 60);
  if (hrs < 24) return `${hrs} 小时 ${m % 60} 分钟`;
  return `${Math.floor(hrs / 24)} 天 ${hrs % 24} 小时`;
}

function percent(part, total) {
  if (!total) return '—';
  const p = (100 * part) / total;
  return `${p >= 99.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

function today() {
  const d = new Date();
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
}

function setBusy(button, busy, busyText) {
  if (busy) {
    button.dataset.label = button.textContent;
    button.textContent = busyText || '处理中…';
    button.disabled = true;
  } else {
    if (button.dataset.label) button.textContent = button.dataset.label;
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Calls /admin/api with the bearer token. A 401 signs out (unless `login` is set, for the sign-in
 * check itself). JSON errors `{"error": "field: message"}` become ApiError messages.
 */
async function api(method, path, options = {}) {
  const { query, json, body, contentType, raw, login } = options;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== '' && value !== null && value !== undefined) params.set(key, String(value));
  }
  const qs = params.toString();
  const headers = { Authorization: `Bearer ${options.token || state.token || ''}`, Accept: raw ? '*/*' : 'application/json' };
  let payload;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (body !== undefined) {
    headers['Content-Type'] = contentType;
    payload = body;
  }
  let res;
  try {
    res = await fetch(`/admin/api${path}${qs ? `?${qs}` : ''}`, { method, headers, body: payload, cache: 'no-store', credentials: 'omit' });
  } catch (err) {
    throw new ApiError(0, `无法连接到桥接服务（${err && err.message ? err.message : err}）`);
  }
  if (res.status === 401 && !login) {
    signOut('登录已失效或管理令牌已更换，请重新登录。');
    throw new ApiError(401, '未授权');
  }
  if (raw && res.ok) return res;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = data && typeof data.error === 'string' ? data.error : `HTTP ${res.status}${text && !data ? `：${text.slice(0, 200)}` : ''}`;
    throw new ApiError(res.status, message);
  }
  return data;
}

function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return err.message;
    if (err.status === 404 && /no such admin endpoint/.test(err.message)) return '服务端尚未提供此接口（请升级桥接服务）';
    if (err.status === 429) return '验证失败次数过多，请稍后再试';
    if (err.status === 503) return `数据库暂不可用，请稍后重试（${err.message}）`;
    return `服务器返回 ${err.status}：${err.message}`;
  }
  return String(err && err.message ? err.message : err);
}

// ---------------------------------------------------------------- sign-in / sign-out

function showLogin(message) {
  $('#app-view').hidden = true;
  $('#login-view').hidden = false;
  document.title = '登录 · 审批消息桥';
  showError($('#login-error'), message || '');
  const input = $('#login-token');
  input.value = '';
  input.focus();
}

function signOut(message) {
  state.token = null;
  state.actor = '';
  state.sandbox = null;
  sessionStorage.removeItem(TOKEN_KEY);
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
  showLogin(message);
}

async function signIn(event) {
  event.preventDefault();
  const input = $('#login-token');
  const button = $('#login-submit');
  const token = input.value.trim();
  if (!token) {
    showError($('#login-error'), '请输入管理令牌。');
    input.focus();
    return;
  }
  setBusy(button, true, '正在验证…');
  showError($('#login-error'), '');
  try {
    const who = await api('GET', '/whoami', { token, login: true });
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    input.value = '';
    enterApp(who);
  } catch (err) {
    showError($('#login-error'), err instanceof ApiError && err.status === 401 ? '管理令牌错误，请检查后重试。' : `登录失败：${errorText(err)}`);
    input.select();
  } finally {
    setBusy(button, false);
  }
}

function enterApp(who) {
  state.actor = (who && who.actor) || '';
  setSandbox(who ? who.sandbox === true : null);
  $('#actor-name').textContent = state.actor ? `操作人：${state.actor}` : '';
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  route();
}

function setSandbox(sandbox) {
  if (sandbox === null || sandbox === undefined) return;
  state.sandbox = sandbox;
  $('#sandbox-banner').hidden = !sandbox;
}

// ---------------------------------------------------------------- routing

function parseHash() {
  const hash = window.location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  return { path, query: new URLSearchParams(query || '') };
}

function showView(name, title) {
  for (const view of document.querySelectorAll('.view')) view.hidden = view.id !== `view-${name}`;
  const nav = name === 'message' ? 'messages' : name;
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === nav);
    if (link.dataset.nav === nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${title} · 审批消息桥`;
}

function route() {
  if (!state.token) return;
  const { path, query } = parseHash();
  state.seq++;
  if (path === '/employees') {
    showView('employees', '员工绑定');
    loadEmployees();
  } else if (path === '/messages') {
    showView('messages', '消息记录');
    if ([...query.keys()].length > 0) {
      state.messages = { outcome: '', employeeNo: '', guid: '', from: '', to: '', q: '', offset: 0 };
      for (const key of Object.keys(state.messages)) if (query.has(key)) state.messages[key] = query.get(key);
      state.messages.offset = 0;
    }
    fillMessageFilter();
    loadMessages();
  } else if (path.startsWith('/messages/')) {
    showView('message', '消息详情');
    loadMessage(decodeURIComponent(path.slice('/messages/'.length)));
  } else if (path.startsWith('/message-id/')) {
    // Pushes refused before a GUID could be read are opened by their row id.
    showView('message', '消息详情');
    loadMessage(decodeURIComponent(path.slice('/message-id/'.length)), true);
  } else if (path === '/audit') {
    showView('audit', '操作记录');
    loadAudit();
  } else {
    showView('dashboard', '首页');
    loadDashboard();
  }
  window.scrollTo(0, 0);
}

function messageHref(guid) {
  return `#/messages/${encodeURIComponent(guid)}`;
}

function messageIdHref(id) {
  return `#/message-id/${encodeURIComponent(id)}`;
}

/** A refused push (no GUID, or a GUID it did not own) opens as its own row; the rest by GUID. */
function hrefOf(m) {
  return m.guid && m.status !== 'rejected' ? messageHref(m.guid) : messageIdHref(m.id);
}

function pager(container, total, offset, onPage) {
  clear(container);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.floor(offset / PAGE_SIZE) + 1;
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(total, offset + PAGE_SIZE);
  const prev = h('button', { type: 'button', class: 'btn btn-sm', disabled: page <= 1, onclick: () => onPage(offset - PAGE_SIZE) }, '上一页');
  const next = h('button', { type: 'button', class: 'btn btn-sm', disabled: page >= pages, onclick: () => onPage(offset + PAGE_SIZE) }, '下一页');
  append(container, [
    h('span', { class: 'pager-total' }, `共 ${total} 条`, total > 0 ? `，第 ${first}–${last} 条` : ''),
    h('span', { class: 'pager-buttons' }, prev, h('span', null, `${page} / ${pages}`), next),
  ]);
}

// ---------------------------------------------------------------- 首页

async function loadDashboard() {
  const seq = state.seq;
  const errorEl = $('#dash-error');
  showError(errorEl, '');
  const [stats, failures] = await Promise.allSettled([
    api('GET', '/stats'),
    api('GET', '/messages', { query: { outcome: 'AE', limit: 5 } }),
  ]);
  if (seq !== state.seq) return;
  const problems = [];
  if (stats.status === 'fulfilled') {
    setSandbox(stats.value.sandbox === true);
    renderStats(stats.value);
  } else {
    clear($('#dash-cards'));
    problems.push(`统计数据：${errorText(stats.reason)}`);
  }
  const tbody = clear($('#dash-failures tbody'));
  if (failures.status === 'fulfilled') {
    const items = failures.value.items || [];
    if (items.length === 0) tbody.append(emptyRow(4, '暂无失败消息'));
    for (const m of items) {
      tbody.append(
        h('tr', { class: 'clickable', onclick: () => (window.location.hash = hrefOf(m)) },
          td('接收时间', fmtTime(m.receivedAt), 'nowrap'),
          td('工号', m.employeeNo || '—'),
          td('原因', m.reason || '', 'reason'),
          td('GUID', h('a', { href: hrefOf(m), class: m.guid ? 'guid' : 'muted' }, m.guid || '（无 GUID）'))),
      );
    }
  } else {
    tbody.append(emptyRow(4, '无法加载'));
    problems.push(`最近失败：${errorText(failures.reason)}`);
  }
  if (problems.length) showError(errorEl, problems.join('；'));
}

function renderStats(stats) {
  const cards = clear($('#dash-cards'));
  const t = stats.today || {};
  cards.append(
    h('div', { class: 'card', id: 'card-today' },
      h('h3', null, '今日推送'),
      h('div', { class: 'big' }, String(t.total || 0), h('small', null, '条')),
      h('div', { class: 'sub' }, h('span', null, `成功 AA ${t.AA || 0}`), h('span', null, `失败 AE ${t.AE || 0}`), t.unknown ? h('span', null, `结果未知 ${t.unknown}`) : null)),
    shareCard('card-24h', '近 24 小时成功率', stats.last24h || {}),
    shareCard('card-7d', '近 7 天成功率', stats.last7d || {}),
    tokenCard(stats),
  );
}

function shareCard(id, title, s) {
  const total = s.total || 0;
  const aa = s.AA || 0;
  const ae = s.AE || 0;
  const width = (n) => ({ width: `${total ? (100 * n) / total : 0}%` });
  return h('div', { class: 'card', id },
    h('h3', null, title),
    h('div', { class: 'big' }, percent(aa, total), h('small', null, `共 ${total} 条`)),
    h('div', { class: 'bar', role: 'img', 'aria-label': `AA ${aa} 条，AE ${ae} 条` }, h('i', { class: 'aa', style: width(aa) }), h('i', { class: 'ae', style: width(ae) })),
    h('div', { class: 'legend' },
      h('span', null, h('i', { class: 'dot aa' }), `AA ${aa}（${percent(aa, total)}）`),
      h('span', null, h('i', { class: 'dot ae' }), `AE ${ae}（${percent(ae, total)}）`),
      s.unknown ? h('span', null, `结果未知 ${s.unknown}`) : null,
      s.sandbox ? h('span', null, `沙箱 ${s.sandbox}`) : null));
}

function tokenCard(stats) {
  const card = h('div', { class: 'card', id: 'card-token' }, h('h3', null, '微信 access_token'));
  const token = stats.token;
  if (stats.sandbox) {
    append(card, [h('div', { class: 'big' }, '—'), h('div', { class: 'sub' }, '沙箱模式：不获取令牌')]);
    return card;
  }
  if (!token || !token.fetchedAt) {
    append(card, [h('div', { class: 'big' }, '未获取'), h('div', { class: 'sub' }, '首次发送时获取')]);
    return card;
  }
  const now = Date.now();
  const fetched = new Date(token.fetchedAt).getTime();
  const expires = token.expiresAt ? new Date(token.expiresAt).getTime() : NaN;
  const expired = !Number.isNaN(expires) && expires <= now;
  if (expired) card.classList.add('warn');
  append(card, [
    h('div', { class: 'big' }, fmtDuration(now - fetched), h('small', null, '前获取')),
    h('div', { class: 'sub' },
      h('span', null, `接口：${token.api === 'classic' ? 'token（classic）' : token.api === 'stable' ? 'stable_token' : token.api || '—'}`),
      Number.isNaN(expires) ? null : h('span', null, expired ? '已过期，下次发送时刷新' : `${fmtDuration(expires - now)}后过期`)),
    h('div', { class: 'sub' }, `获取于 ${fmtTime(token.fetchedAt)}`),
  ]);
  return card;
}

// ---------------------------------------------------------------- 员工绑定

async function loadEmployees() {
  const seq = state.seq;
  const f = state.employees;
  $('#emp-q').value = f.q;
  $('#emp-active').value = f.active;
  showError($('#emp-error'), '');
  let data;
  try {
    data = await api('GET', '/employees', { query: { q: f.q, active: f.active, limit: PAGE_SIZE, offset: f.offset } });
  } catch (err) {
    if (seq !== state.seq) return;
    showError($('#emp-error'), `无法加载员工列表：${errorText(err)}`);
    return;
  }
  if (seq !== state.seq) return;
  const tbody = clear($('#emp-table tbody'));
  const items = data.items || [];
  if (items.length === 0) tbody.append(emptyRow(6, f.q || f.active ? '没有符合条件的员工' : '还没有员工绑定，点击“新增绑定”或“导入 CSV”'));
  for (const e of items) {
    tbody.append(
      h('tr', { dataset: { employeeNo: e.employeeNo } },
        td('工号', e.employeeNo, 'nowrap emp-no'),
        td('姓名', e.name || '—'),
        td('openid', e.openid, 'mono'),
        td('状态', e.active ? badge('启用', 'ok') : badge('停用')),
        td('更新时间', fmtTime(e.updatedAt), 'nowrap'),
        td('操作', h('div', { class: 'row-actions' },
          h('button', { type: 'button', class: 'btn-link btn', onclick: () => openEmployeeDialog(e) }, '编辑'),
          h('button', { type: 'button', class: 'btn-link btn', onclick: () => toggleEmployee(e) }, e.active ? '停用' : '启用'),
          h('button', { type: 'button', class: 'btn-link btn danger', onclick: () => deleteEmployee(e) }, '删除')), 'col-actions')),
    );
  }
  pager($('#emp-pager'), data.total || 0, f.offset, (offset) => {
    state.employees.offset = Math.max(0, offset);
    state.seq++;
    loadEmployees();
  });
}

function reloadEmployees(resetOffset) {
  if (resetOffset) state.employees.offset = 0;
  state.seq++;
  return loadEmployees();
}

let editing = null;

function openEmployeeDialog(record) {
  editing = record;
  const dialog = $('#emp-dialog');
  $('#emp-dialog-title').textContent = record ? `编辑绑定：${record.employeeNo}` : '新增绑定';
  const no = $('#emp-f-no');
  no.value = record ? record.employeeNo : '';
  no.readOnly = Boolean(record);
  $('#emp-f-name').value = record ? record.name || '' : '';
  $('#emp-f-openid').value = record ? record.openid : '';
  $('#emp-f-active').checked = record ? record.active : true;
  for (const input of dialog.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  showError($('#emp-f-error'), '');
  dialog.showModal();
  (record ? $('#emp-f-openid') : no).focus();
}

function validateEmployee(values) {
  if (!values.employeeNo) return ['emp-f-no', '请填写工号。'];
  if (values.employeeNo.length > 64) return ['emp-f-no', '工号最多 64 个字符。'];
  if (!OPENID_PATTERN.test(values.openid)) return ['emp-f-openid', 'openid 须为 6–64 位字母、数字、下划线（_）或连字符（-）。'];
  if (values.name.length > 100) return ['emp-f-name', '姓名最多 100 个字符。'];
  return null;
}

async function saveEmployee(event) {
  event.preventDefault();
  const values = {
    employeeNo: $('#emp-f-no').value.trim(),
    name: $('#emp-f-name').value.trim(),
    openid: $('#emp-f-openid').value.trim(),
    active: $('#emp-f-active').checked,
  };
  const dialog = $('#emp-dialog');
  for (const input of dialog.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  const problem = validateEmployee(values);
  if (problem) {
    const input = document.getElementById(problem[0]);
    input.setAttribute('aria-invalid', 'true');
    showError($('#emp-f-error'), problem[1]);
    input.focus();
    return;
  }
  const button = $('#emp-f-save');
  setBusy(button, true, '保存中…');
  showError($('#emp-f-error'), '');
  const path = `/employees/${encodeURIComponent(values.employeeNo)}`;
  try {
    if (!editing) {
      // Adding must not silently overwrite someone else's binding.
      const existing = await api('GET', path).catch((err) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      });
      if (existing) {
        $('#emp-f-no').setAttribute('aria-invalid', 'true');
        showError($('#emp-f-error'), `工号 ${values.employeeNo} 已存在绑定（${existing.name || '未填姓名'}），请在列表中编辑。`);
        return;
      }
    }
    const saved = await api('PUT', path, { json: { openid: values.openid, name: values.name, active: values.active } });
    dialog.close();
    toast(`已保存：${saved.employeeNo} ${saved.name || ''}`.trim());
    await reloadEmployees(!editing);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    const field = err instanceof ApiError ? err.message.split(':')[0] : '';
    const input = { openid: '#emp-f-openid', name: '#emp-f-name', employeeNo: '#emp-f-no' }[field];
    if (input) $(input).setAttribute('aria-invalid', 'true');
    showError($('#emp-f-error'), `保存失败：${errorText(err)}`);
  } finally {
    setBusy(button, false);
  }
}

async function toggleEmployee(e) {
  if (e.active) {
    const ok = await confirmDialog(`停用工号 ${e.employeeNo}（${e.name || '未填姓名'}）的绑定？\n停用后该员工的审批推送将返回“工号关联账号不存在”。`, { ok: '停用', danger: true });
    if (!ok) return;
  }
  try {
    await api('PUT', `/employees/${encodeURIComponent(e.employeeNo)}`, { json: { openid: e.openid, name: e.name || '', active: !e.active } });
    toast(`${e.employeeNo} 已${e.active ? '停用' : '启用'}`);
    await reloadEmployees(false);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) toast(`操作失败：${errorText(err)}`, 'error');
  }
}

async function deleteEmployee(e) {
  const ok = await confirmDialog(`确定删除工号 ${e.employeeNo}（${e.name || '未填姓名'}）的绑定吗？\n删除后无法恢复（操作会记入操作记录）。`, { ok: '删除', danger: true, title: '删除绑定' });
  if (!ok) return;
  try {
    await api('DELETE', `/employees/${encodeURIComponent(e.employeeNo)}`);
    toast(`已删除：${e.employeeNo}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    toast(err instanceof ApiError && err.status === 404 ? `工号 ${e.employeeNo} 已不存在` : `删除失败：${errorText(err)}`, 'error');
  }
  await reloadEmployees(false);
}

async function exportEmployees() {
  const button = $('#emp-export');
  setBusy(button, true, '导出中…');
  try {
    const res = await api('GET', '/employees/export', { raw: true });
    const blob = await res.blob();
    const disposition = res.headers.get('content-disposition') || '';
    const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    const name = match ? decodeURIComponent(match[1]) : `employees-${today()}.csv`;
    const href = URL.createObjectURL(new Blob([blob], { type: 'text/csv;charset=utf-8' }));
    const a = h('a', { href, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 10_000);
    toast(`已导出 ${name}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) toast(`导出失败：${errorText(err)}`, 'error');
  } finally {
    setBusy(button, false);
  }
}

// ---------------------------------------------------------------- CSV import

function openImport() {
  state.importJob = null;
  $('#import-file').value = '';
  $('#import-file-name').textContent = '未选择文件';
  showError($('#import-error'), '');
  clear($('#import-report')).hidden = true;
  $('#import-commit').disabled = true;
  $('#import-dry').disabled = false;
  $('#import-dialog').showModal();
}

/** The file's bytes go unchanged; the charset is named only when it is certainly UTF-8. */
function csvContentType(bytes) {
  const u8 = new Uint8Array(bytes);
  if (u8[0] === 0xef && u8[1] === 0xbb && u8[2] === 0xbf) return 'text/csv; charset=utf-8';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(u8);
    return 'text/csv; charset=utf-8';
  } catch {
    return 'text/csv'; // probably GBK: the server sniffs
  }
}

async function runImport(dryRun) {
  const file = $('#import-file').files[0];
  const errorEl = $('#import-error');
  showError(errorEl, '');
  if (!file) {
    showError(errorEl, '请先选择 CSV 文件。');
    return;
  }
  const button = dryRun ? $('#import-dry') : $('#import-commit');
  setBusy(button, true, dryRun ? '预检中…' : '导入中…');
  $('#import-commit').disabled = true;
  try {
    let job = state.importJob;
    if (!job || job.file !== file || dryRun) {
      const bytes = await file.arrayBuffer();
      if (bytes.byteLength === 0) throw new Error('文件是空的。');
      job = { file, bytes, contentType: csvContentType(bytes) };
      state.importJob = job;
    }
    const report = await api('POST', '/employees/import', { query: { dryRun: dryRun ? 'true' : 'false' }, body: job.bytes, contentType: job.contentType });
    renderImportReport(report, dryRun, file.name);
    setBusy(button, false);
    if (dryRun) {
      job.checked = true;
      $('#import-commit').disabled = (report.created || 0) + (report.updated || 0) === 0;
    } else {
      state.importJob = null;
      $('#import-commit').disabled = true;
      toast(`导入完成：新增 ${report.created || 0}，更新 ${report.updated || 0}`);
      reloadEmployees(true);
    }
  } catch (err) {
    setBusy(button, false);
    if (err instanceof ApiError && err.status === 401) return;
    showError(errorEl, `${dryRun ? '预检' : '导入'}失败：${errorText(err)}`);
    if (!dryRun && state.importJob && state.importJob.checked) $('#import-commit').disabled = false;
  }
}

function renderImportReport(report, dryRun, fileName) {
  const box = clear($('#import-report'));
  box.hidden = false;
  box.dataset.dryRun = String(dryRun);
  const errors = [...(report.errors || [])].sort((a, b) => (a.line || 0) - (b.line || 0));
  const stat = (cls, label, n) => h('div', { class: `stat ${cls}` }, h('b', null, String(n || 0)), h('span', null, label));
  append(box, [
    h('h4', null, dryRun ? `预检结果（未写入任何数据）：${fileName}` : `导入完成：${fileName}`),
    h('div', { class: 'stats' },
      stat('created', dryRun ? '将新增' : '新增', report.created),
      stat('updated', dryRun ? '将更新' : '更新', report.updated),
      stat('unchanged', '未变', report.unchanged),
      stat('errors', '错误', report.errorCount ?? errors.length)),
  ]);
  if (errors.length) {
    append(box, [
      h('p', { class: 'small muted' }, dryRun ? '以下各行有错误，确认导入时将被跳过（行号含表头，表头为第 1 行）：' : '以下各行有错误，已跳过：'),
      h('div', { class: 'import-errors' },
        h('table', { class: 'table', id: 'import-errors' },
          h('thead', null, h('tr', null, h('th', null, '行号'), h('th', null, '错误信息'))),
          h('tbody', null, errors.map((e) => h('tr', null, h('td', { class: 'nowrap' }, `第 ${e.line} 行`), h('td', null, e.message || '')))))),
    ]);
    // The server lists only the first errors of a large file; errorCount is how many there are.
    if ((report.errorCount || 0) > errors.length) box.append(h('p', { class: 'small muted', id: 'import-errors-more' }, `仅列出前 ${errors.length} 条，另有 ${report.errorCount - errors.length} 条错误未列出。`));
  } else {
    box.append(h('p', { class: 'small muted' }, '没有错误。'));
  }
  if (dryRun && (report.created || 0) + (report.updated || 0) === 0) box.append(h('p', { class: 'alert alert-info' }, '没有需要写入的行。'));
  if (dryRun && (report.created || 0) + (report.updated || 0) > 0) box.append(h('p', { class: 'small' }, '确认无误后点击“确认导入”写入数据库。'));
}

// ---------------------------------------------------------------- 消息记录

function fillMessageFilter() {
  const f = state.messages;
  $('#msg-outcome').value = f.outcome;
  $('#msg-employee').value = f.employeeNo;
  $('#msg-guid').value = f.guid;
  $('#msg-from').value = f.from;
  $('#msg-to').value = f.to;
  $('#msg-q').value = f.q;
}

async function loadMessages() {
  const seq = state.seq;
  const f = state.messages;
  showError($('#msg-error'), '');
  if (f.from && f.to && f.from > f.to) {
    showError($('#msg-error'), '起始日期不能晚于截止日期。');
    return;
  }
  let data;
  try {
    data = await api('GET', '/messages', { query: { outcome: f.outcome, employeeNo: f.employeeNo, guid: f.guid, from: f.from, to: f.to, q: f.q, limit: PAGE_SIZE, offset: f.offset } });
  } catch (err) {
    if (seq !== state.seq) return;
    showError($('#msg-error'), `无法加载消息记录：${errorText(err)}`);
    return;
  }
  if (seq !== state.seq) return;
  const tbody = clear($('#msg-table tbody'));
  const items = data.items || [];
  if (items.length === 0) tbody.append(emptyRow(8, '没有符合条件的消息'));
  for (const m of items) {
    const open = () => (window.location.hash = hrefOf(m));
    tbody.append(
      h('tr', { class: 'clickable', dataset: { guid: m.guid || '' }, onclick: open },
        td('接收时间', fmtTime(m.receivedAt), 'nowrap'),
        td('工号', m.employeeNo || '—', 'nowrap'),
        td('结果', ackBadge(m.ackCode)),
        td('状态', statusBadge(m.status)),
        td('原因', m.reason || '', 'reason'),
        td('推送次数', String(m.pushCount || 1)),
        td('GUID', m.guid ? h('span', { class: 'guid' }, m.guid) : h('span', { class: 'muted' }, '（无 GUID）')),
        td('操作', h('a', { href: hrefOf(m), onclick: (ev) => ev.stopPropagation() }, '详情'), 'col-actions')),
    );
  }
  pager($('#msg-pager'), data.total || 0, f.offset, (offset) => {
    state.messages.offset = Math.max(0, offset);
    state.seq++;
    loadMessages();
  });
}

function section(title, ...body) {
  return h('div', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h3', null, title)), h('div', { class: 'panel-body' }, body));
}

function dl(pairs) {
  return h('dl', { class: 'detail-grid' },
    pairs.filter(Boolean).map(([label, value]) => h('div', null, h('dt', null, label), h('dd', null, value === '' || value === null || value === undefined ? '—' : value))));
}

async function loadMessage(guid, byId = false) {
  const seq = state.seq;
  const body = clear($('#detail-body'));
  showError($('#detail-error'), '');
  body.append(h('p', { class: 'muted' }, '加载中…'));
  let m;
  try {
    m = await api('GET', byId ? `/messages/by-id/${encodeURIComponent(guid)}` : `/messages/${encodeURIComponent(guid)}`);
  } catch (err) {
    if (seq !== state.seq) return;
    clear(body);
    showError($('#detail-error'), err instanceof ApiError && err.status === 404 ? `找不到${byId ? '编号' : ' GUID '}为 ${guid} 的消息。` : `无法加载消息：${errorText(err)}`);
    return;
  }
  if (seq !== state.seq) return;
  renderMessage(m);
}

function renderMessage(m) {
  const body = clear($('#detail-body'));
  const resendable = m.status === 'failed' || m.status === 'unknown';
  const forceable = m.status === 'delivered' || m.status === 'sandbox';

  const actions = h('div', { class: 'resend-box' });
  if (resendable) {
    actions.append(h('button', { type: 'button', class: 'btn btn-primary', id: 'resend', onclick: (ev) => resend(m, false, ev.currentTarget) }, '重新发送'));
  } else if (forceable) {
    actions.append(h('button', { type: 'button', class: 'btn btn-warn', id: 'resend-force', onclick: (ev) => resend(m, true, ev.currentTarget) }, '强制重新发送'));
  } else if (m.status === 'processing') {
    actions.append(h('span', { class: 'muted small' }, '正在处理中，稍后刷新'));
  }
  const result = h('div', { id: 'resend-result', class: 'resend-result', 'aria-live': 'polite' });
  if (state.lastResend && state.lastResend.guid === m.guid) renderResendResult(result, state.lastResend);

  body.append(
    h('div', { class: 'panel' }, h('div', { class: 'panel-body' },
      h('div', { class: 'detail-head' },
        h('div', null,
          h('div', { class: 'guid', id: 'detail-guid' }, m.guid),
          h('div', { class: 'outcome', id: 'detail-outcome' }, ackBadge(m.ackCode), statusBadge(m.status), h('span', null, m.reason || ''))),
        actions),
      result)),
    section('基本信息', dl([
      ['接收时间', fmtTime(m.receivedAt)],
      ['更新时间', fmtTime(m.updatedAt)],
      ['完成时间', fmtTime(m.finishedAt)],
      ['送达时间', fmtTime(m.deliveredAt)],
      ['申请人工号', m.employeeNo],
      ['openid', m.openid ? h('span', { class: 'mono' }, m.openid) : ''],
      ['推送次数', String(m.pushCount || 1)],
      ['封装', m.envelope],
      ['服务代码', m.action],
      ['Content-Type', m.contentType],
      ['发送方', m.senderId],
      ['接收方', m.receiverId],
    ])),
    section('审批内容', renderApproval(m.approval)),
    section('发送的微信文本', renderTexts(m.texts)),
    section('发送记录', renderAttempts(m.attempts)),
    section('收到的报文（原样）', h('pre', { class: 'block', id: 'detail-payload' }, m.payload || '')),
    section('返回给 ERP 的应答（最近一次推送）', m.ackXml ? h('pre', { class: 'block', id: 'detail-ack' }, m.ackXml) : h('p', { class: 'section-note' }, '尚无应答'), ackNote(m)),
  );
  if (Array.isArray(m.related) && m.related.length) {
    body.append(section('同一 GUID 的其他推送记录',
      h('div', { class: 'table-wrap' }, h('table', { class: 'table table-cards' },
        h('thead', null, h('tr', null, h('th', null, '编号'), h('th', null, '接收时间'), h('th', null, '状态'), h('th', null, '原因'))),
        h('tbody', null, m.related.map((r) => h('tr', null,
          td('编号', String(r.id), 'nowrap'), td('接收时间', fmtTime(r.receivedAt), 'nowrap'), td('状态', statusBadge(r.status)), td('原因', r.reason || '', 'reason'))))))));
  }
}

/** After a manual resend the message's outcome can differ from the ack the ERP was given. */
function ackNote(m) {
  if (!m.ackXml || !m.ackCode) return null;
  const code = /<acknowledgement\b[^>]*\btypeCode="([A-Z]{2})"/.exec(m.ackXml);
  if (!code || code[1] === m.ackCode) return null;
  return h('p', { class: 'section-note' }, `注：ERP 推送时收到的是 ${code[1]}；此后经手动重新发送，当前结果为 ${m.ackCode}（手动重发不会再通知 ERP）。`);
}

function renderApproval(approval) {
  if (!approval || typeof approval !== 'object') return h('p', { class: 'section-note' }, '报文未能解析出审批内容');
  const order = Object.keys(APPROVAL_LABELS);
  const rank = (key) => (order.includes(key) ? order.indexOf(key) : order.length);
  const keys = Object.keys(approval).filter((key) => key !== 'items' && key !== 'guid');
  keys.sort((a, b) => rank(a) - rank(b) || (rank(a) === order.length ? a.localeCompare(b) : 0));
  // The device ids go last: they are about the envelope, not the approval.
  const fields = [...keys.filter((k) => k !== 'senderId' && k !== 'receiverId'), ...keys.filter((k) => k === 'senderId' || k === 'receiverId')];
  const pairs = fields.map((key) => {
    const value = approval[key];
    return [APPROVAL_LABELS[key] || key, typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value ?? '')];
  });
  const items = Array.isArray(approval.items) ? approval.items : [];
  const columns = [...new Set(items.flatMap((it) => Object.keys(it || {})))];
  const itemOrder = Object.keys(ITEM_LABELS);
  columns.sort((a, b) => (itemOrder.includes(a) ? itemOrder.indexOf(a) : 99) - (itemOrder.includes(b) ? itemOrder.indexOf(b) : 99));
  return [
    dl(pairs),
    h('h4', { class: 'part-label' }, items.length ? `项目明细（${items.length} 项）` : '项目明细：无'),
    items.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'table table-cards' },
        h('thead', null, h('tr', null, h('th', null, '#'), columns.map((k) => h('th', null, ITEM_LABELS[k] || k)))),
        h('tbody', null, items.map((it, i) => h('tr', null, td('#', String(i + 1)), columns.map((k) => td(ITEM_LABELS[k] || k, String((it || {})[k] ?? ''))))))))
      : null,
  ];
}

function renderTexts(texts) {
  if (!Array.isArray(texts) || texts.length === 0) return h('p', { class: 'section-note' }, '未生成发送文本');
  return texts.map((text, i) => [
    texts.length > 1 ? h('div', { class: 'part-label' }, `第 ${i + 1} / ${texts.length} 条`) : null,
    h('pre', { class: 'block text-msg' }, String(text)),
  ]);
}

function renderAttempts(attempts) {
  if (!Array.isArray(attempts) || attempts.length === 0) return h('p', { class: 'section-note' }, '没有调用过微信发送接口');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table table-cards', id: 'detail-attempts' },
    h('thead', null, h('tr', null, ['时间', '分段', '耗时', 'errcode', '错误', 'HTTP', '说明'].map((t) => h('th', null, t)))),
    h('tbody', null, attempts.map((a) => {
      const notes = [];
      if (a.resend) notes.push(`手动重发${a.actor ? `（${a.actor}）` : ''}`);
      if (a.forced) notes.push('强制');
      const ok = a.errcode === 0 && !a.error;
      return h('tr', null,
        td('时间', fmtTime(a.at), 'nowrap'),
        td('分段', a.part === undefined ? '' : String(a.part)),
        td('耗时', a.ms === undefined ? '' : `${a.ms} ms`, 'nowrap'),
        td('errcode', a.errcode === undefined ? '—' : badge(String(a.errcode), ok ? 'ok' : 'err')),
        td('错误', [a.errmsg, a.error].filter(Boolean).join('；') || (ok ? 'ok' : ''), 'reason'),
        td('HTTP', a.httpStatus === undefined ? '' : String(a.httpStatus)),
        td('说明', notes.join('，')));
    }))));
}

function renderResendResult(box, r) {
  clear(box);
  if (r.error) {
    box.append(h('p', { class: 'alert alert-error' }, r.error));
    return;
  }
  box.append(h('p', { class: `alert ${r.ackCode === 'AA' ? 'alert-ok' : 'alert-error'}`, id: 'resend-ack' },
    '重新发送结果：', ackBadge(r.ackCode), ' ', r.reason || ''));
}

async function resend(m, force, button) {
  if (force) {
    const ok = await confirmDialog(`这条消息${m.status === 'sandbox' ? '在沙箱模式下处理过' : '已成功送达'}。\n确定要再次向申请人（工号 ${m.employeeNo || '—'}）发送微信消息吗？申请人会收到重复的通知。`, { ok: '强制重新发送', danger: true, title: '强制重新发送' });
    if (!ok) return;
  }
  setBusy(button, true, '发送中…');
  let result;
  try {
    const ack = await api('POST', `/messages/${encodeURIComponent(m.guid)}/resend`, { json: { force } });
    result = { guid: m.guid, ackCode: ack.ackCode, reason: ack.reason };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    result = { guid: m.guid, error: err instanceof ApiError && err.status === 409 ? `未重新发送：${err.message}` : `重新发送失败：${errorText(err)}` };
  }
  state.lastResend = result;
  const seq = state.seq;
  try {
    const fresh = await api('GET', `/messages/${encodeURIComponent(m.guid)}`);
    if (seq === state.seq) renderMessage(fresh);
  } catch {
    setBusy(button, false);
    renderResendResult($('#resend-result'), result);
  }
}

// ---------------------------------------------------------------- 操作记录

function summarizeChange(entry) {
  const before = entry.before || {};
  const after = entry.after || {};
  const show = (v, key) => (key === 'active' ? (v ? '启用' : '停用') : v === '' || v === undefined || v === null ? '（空）' : String(v));
  const labels = { openid: 'openid', name: '姓名', active: '状态' };
  if (!entry.before && entry.after) return Object.keys(labels).filter((k) => k in after).map((k) => `${labels[k]}：${show(after[k], k)}`).join('；');
  if (entry.before && !entry.after) return Object.keys(labels).filter((k) => k in before).map((k) => `${labels[k]}：${show(before[k], k)}`).join('；');
  const changes = Object.keys(labels).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).map((k) => `${labels[k]}：${show(before[k], k)} → ${show(after[k], k)}`);
  return changes.join('；') || '无变化';
}

async function loadAudit() {
  const seq = state.seq;
  const f = state.audit;
  $('#audit-employee').value = f.employeeNo;
  showError($('#audit-error'), '');
  let data;
  try {
    data = await api('GET', '/audit', { query: { employeeNo: f.employeeNo, limit: PAGE_SIZE, offset: f.offset } });
  } catch (err) {
    if (seq !== state.seq) return;
    showError($('#audit-error'), `无法加载操作记录：${errorText(err)}`);
    return;
  }
  if (seq !== state.seq) return;
  const tbody = clear($('#audit-table tbody'));
  const items = data.items || [];
  if (items.length === 0) tbody.append(emptyRow(5, '没有操作记录'));
  for (const a of items) {
    const [label, kind] = AUDIT_ACTIONS[a.action] || [a.action, ''];
    tbody.append(h('tr', null,
      td('时间', fmtTime(a.at), 'nowrap'),
      td('操作人', a.actor || ''),
      td('工号', a.employeeNo || '', 'nowrap'),
      td('操作', badge(label, kind)),
      td('变更内容', summarizeChange(a), 'reason')));
  }
  pager($('#audit-pager'), data.total || 0, f.offset, (offset) => {
    state.audit.offset = Math.max(0, offset);
    state.seq++;
    loadAudit();
  });
}

// ---------------------------------------------------------------- confirmation dialog

function confirmDialog(text, options = {}) {
  const dialog = $('#confirm-dialog');
  $('#confirm-title').textContent = options.title || '请确认';
  $('#confirm-text').textContent = text;
  const ok = $('#confirm-ok');
  ok.textContent = options.ok || '确定';
  ok.className = `btn ${options.danger === false ? 'btn-primary' : 'btn-danger'}`;
  dialog.returnValue = '';
  dialog.showModal();
  $('#confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

// ---------------------------------------------------------------- wiring

function init() {
  $('#login-form').addEventListener('submit', signIn);
  $('#logout').addEventListener('click', () => signOut('已退出登录。'));
  window.addEventListener('hashchange', route);
  $('#dash-refresh').addEventListener('click', () => {
    state.seq++;
    loadDashboard();
  });

  $('#emp-search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.employees = { q: $('#emp-q').value.trim(), active: $('#emp-active').value, offset: 0 };
    state.seq++;
    loadEmployees();
  });
  $('#emp-active').addEventListener('change', () => $('#emp-search').requestSubmit());
  $('#emp-add').addEventListener('click', () => openEmployeeDialog(null));
  $('#emp-form').addEventListener('submit', saveEmployee);
  $('#emp-export').addEventListener('click', exportEmployees);
  $('#emp-import').addEventListener('click', openImport);
  $('#import-file').addEventListener('change', () => {
    const file = $('#import-file').files[0];
    $('#import-file-name').textContent = file ? `${file.name}（${Math.max(1, Math.round(file.size / 1024))} KB）` : '未选择文件';
    state.importJob = null;
    clear($('#import-report')).hidden = true;
    showError($('#import-error'), '');
    $('#import-commit').disabled = true;
  });
  $('#import-dry').addEventListener('click', () => runImport(true));
  $('#import-commit').addEventListener('click', () => runImport(false));
  for (const button of document.querySelectorAll('dialog [data-close]')) {
    button.addEventListener('click', () => button.closest('dialog').close());
  }

  $('#msg-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.messages = {
      outcome: $('#msg-outcome').value,
      employeeNo: $('#msg-employee').value.trim(),
      guid: $('#msg-guid').value.trim(),
      from: $('#msg-from').value,
      to: $('#msg-to').value,
      q: $('#msg-q').value.trim(),
      offset: 0,
    };
    if (parseHash().path !== '/messages' || window.location.hash.includes('?')) {
      // Keep the URL plain so that going back to the list keeps these filters.
      window.history.replaceState(null, '', '#/messages');
    }
    state.seq++;
    loadMessages();
  });
  $('#msg-outcome').addEventListener('change', () => $('#msg-filter').requestSubmit());
  $('#msg-reset').addEventListener('click', () => {
    state.messages = { outcome: '', employeeNo: '', guid: '', from: '', to: '', q: '', offset: 0 };
    fillMessageFilter();
    window.history.replaceState(null, '', '#/messages');
    state.seq++;
    loadMessages();
  });

  $('#audit-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.audit = { employeeNo: $('#audit-employee').value.trim(), offset: 0 };
    state.seq++;
    loadAudit();
  });

  if (!state.token) {
    showLogin('');
    return;
  }
  // A token from earlier in this tab: check it is still good before showing anything.
  api('GET', '/whoami', { login: true })
    .then(enterApp)
    .catch((err) => {
      if (err instanceof ApiError && err.status === 401) signOut('登录已失效或管理令牌已更换，请重新登录。');
      else {
        // Server unreachable or whoami missing: show the page anyway; each view reports its own errors.
        enterApp(null);
        toast(`无法验证登录状态：${errorText(err)}`, 'error');
      }
    });
}

init();
