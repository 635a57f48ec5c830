// The read-only sections of the message detail (views/message.js), kept apart so that file stays
// about loading and resending.
import { html } from '../../vendor/htm-preact.js';
import { fmtTime } from '../format.js';
import { badge, cell } from '../ui.js';

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

export const panel = (title, body) => html`<div class="panel">
  <div class="panel-head"><h3>${title}</h3></div>
  <div class="panel-body">${body}</div>
</div>`;

export const detailList = (pairs) => html`<dl class="detail-grid">
  ${pairs.filter(Boolean).map(([label, value]) => html`<div><dt>${label}</dt><dd>${value === '' || value === null || value === undefined ? '—' : value}</dd></div>`)}
</dl>`;

/** After a manual resend the message's outcome can differ from the ack the ERP was given. */
export function ackNote(m) {
  if (!m.ackXml || !m.ackCode) return null;
  const code = /<acknowledgement\b[^>]*\btypeCode="([A-Z]{2})"/.exec(m.ackXml);
  if (!code || code[1] === m.ackCode) return null;
  return html`<p class="section-note">注：ERP 推送时收到的是 ${code[1]}；此后经手动重新发送，当前结果为 ${m.ackCode}（手动重发不会再通知 ERP）。</p>`;
}

const rankIn = (order) => (key) => (order.includes(key) ? order.indexOf(key) : order.length);

export function approvalSection(approval) {
  if (!approval || typeof approval !== 'object') return html`<p class="section-note">报文未能解析出审批内容</p>`;
  const rank = rankIn(Object.keys(APPROVAL_LABELS));
  const unknown = Object.keys(APPROVAL_LABELS).length;
  const keys = Object.keys(approval).filter((key) => key !== 'items' && key !== 'guid');
  // Known fields in their usual order, then any others alphabetically.
  keys.sort((a, b) => rank(a) - rank(b) || (rank(a) === unknown ? a.localeCompare(b) : 0));
  // The device ids go last: they are about the envelope, not the approval.
  const device = (k) => k === 'senderId' || k === 'receiverId';
  const fields = [...keys.filter((k) => !device(k)), ...keys.filter(device)];
  const pairs = fields.map((key) => {
    const value = approval[key];
    return [APPROVAL_LABELS[key] || key, typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value ?? '')];
  });
  const items = Array.isArray(approval.items) ? approval.items : [];
  const columns = [...new Set(items.flatMap((it) => Object.keys(it || {})))];
  const itemRank = rankIn(Object.keys(ITEM_LABELS));
  columns.sort((a, b) => itemRank(a) - itemRank(b));
  const label = (k) => ITEM_LABELS[k] || k;
  return [
    detailList(pairs),
    html`<h4 class="part-label">${items.length ? `项目明细（${items.length} 项）` : '项目明细：无'}</h4>`,
    items.length > 0 && html`<div class="table-wrap"><table class="table table-cards">
      <thead><tr><th>#</th>${columns.map((k) => html`<th>${label(k)}</th>`)}</tr></thead>
      <tbody>${items.map((it, i) => html`<tr>${cell('#', String(i + 1))}${columns.map((k) => cell(label(k), String((it || {})[k] ?? '')))}</tr>`)}</tbody>
    </table></div>`,
  ];
}

export function textsSection(texts) {
  if (!Array.isArray(texts) || texts.length === 0) return html`<p class="section-note">未生成发送文本</p>`;
  return texts.map((text, i) => [
    texts.length > 1 ? html`<div class="part-label">第 ${i + 1} / ${texts.length} 条</div>` : null,
    html`<pre class="block text-msg">${String(text)}</pre>`,
  ]);
}

export function attemptsTable(attempts) {
  if (!Array.isArray(attempts) || attempts.length === 0) return html`<p class="section-note">没有调用过微信发送接口</p>`;
  return html`<div class="table-wrap"><table class="table table-cards" id="detail-attempts">
    <thead><tr>${['时间', '分段', '耗时', 'errcode', '错误', 'HTTP', '说明'].map((t) => html`<th>${t}</th>`)}</tr></thead>
    <tbody>${attempts.map((a) => {
      const notes = [];
      if (a.resend) notes.push(`手动重发${a.actor ? `（${a.actor}）` : ''}`);
      if (a.forced) notes.push('强制');
      const ok = a.errcode === 0 && !a.error;
      return html`<tr>
        ${cell('时间', fmtTime(a.at), 'nowrap')}
        ${cell('分段', a.part === undefined ? '' : String(a.part))}
        ${cell('耗时', a.ms === undefined ? '' : `${a.ms} ms`, 'nowrap')}
        ${cell('errcode', a.errcode === undefined ? '—' : badge(String(a.errcode), ok ? 'ok' : 'err'))}
        ${cell('错误', [a.errmsg, a.error].filter(Boolean).join('；') || (ok ? 'ok' : ''), 'reason')}
        ${cell('HTTP', a.httpStatus === undefined ? '' : String(a.httpStatus))}
        ${cell('说明', notes.join('，'))}
      </tr>`;
    })}</tbody>
  </table></div>`;
}
