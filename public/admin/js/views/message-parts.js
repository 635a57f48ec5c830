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
  <div class="panel-head"><h2 class="panel-title">${title}</h2></div>
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
    html`<h3 class="part-label">${items.length ? `项目明细（${items.length} 项）` : '项目明细：无'}</h3>`,
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
    html`<pre class="block text-msg" role="region" tabindex="0" aria-label=${texts.length > 1 ? `发送的微信文本第 ${i + 1} 条` : '发送的微信文本'}>${String(text)}</pre>`,
  ]);
}

const CHANNELS = { custom: '客服消息', template: '模板消息' };

// A template key ends in its field's position in the template (thing1, character_string2, time3):
// sorted by it, the data reads in the template's order whatever order the record keeps keys in
// (Postgres jsonb sorts them by length).
const position = (key) => {
  const m = /(\d+)$/.exec(key);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
};

/** Template data as sent (or as it would have been in sandbox mode): key → value, in the template's order. */
export function templateDataList(data, id) {
  const entries = data && typeof data === 'object' ? Object.entries(data) : [];
  entries.sort(([a], [b]) => position(a) - position(b) || a.localeCompare(b));
  if (entries.length === 0) return null;
  return html`<dl class="tpl-data" id=${id}>
    ${entries.map(([key, v]) => html`<div><dt class="mono">${key}</dt><dd>${v && typeof v === 'object' && 'value' in v ? String(v.value ?? '') : JSON.stringify(v)}</dd></div>`)}
  </dl>`;
}

export function attemptsTable(attempts) {
  if (!Array.isArray(attempts) || attempts.length === 0) return html`<p class="section-note">没有调用过微信发送接口</p>`;
  return html`<div class="table-wrap"><table class="table table-cards" id="detail-attempts">
    <thead><tr>${['时间', '渠道', '分段', '耗时', 'errcode', '错误', '模板 msgid', 'HTTP', '说明'].map((t) => html`<th>${t}</th>`)}</tr></thead>
    <tbody>${attempts.map((a, i) => {
      const notes = [];
      if (a.resend) notes.push(`手动重发${a.actor ? `（${a.actor}）` : ''}`);
      if (a.forced) notes.push('强制');
      const ok = a.errcode === 0 && !a.error;
      const channel = CHANNELS[a.channel];
      return html`<tr class=${a.sandbox ? 'attempt-sandbox' : null} data-channel=${a.channel || null}>
        ${cell('时间', fmtTime(a.at), 'nowrap')}
        ${cell('渠道', channel ? badge(channel, a.channel === 'template' ? 'info' : '') : '—', 'nowrap attempt-channel')}
        ${cell('分段', a.part === undefined ? '' : String(a.part))}
        ${cell('耗时', a.ms === undefined ? '' : `${a.ms} ms`, 'nowrap')}
        ${cell('errcode', a.errcode === undefined ? '—' : badge(String(a.errcode), ok ? 'ok' : 'err'))}
        ${cell('错误', [a.errmsg, a.error].filter(Boolean).join('；') || (ok ? 'ok' : ''), 'reason')}
        ${cell('模板 msgid', a.msgid ? html`<span class="mono msgid">${String(a.msgid)}</span>` : '', 'attempt-msgid')}
        ${cell('HTTP', a.httpStatus === undefined ? '' : String(a.httpStatus))}
        ${cell('说明', html`${notes.join('，')}
          ${a.sandbox ? html`<div class="sandbox-note">沙箱模式：将通过${channel || '微信'}发送（未实际发送）</div>` : null}
          ${templateDataList(a.templateData, `attempt-${i}-template-data`)}`, 'attempt-notes')}
      </tr>`;
    })}</tbody>
  </table></div>`;
}

// WeChat's TEMPLATESENDJOBFINISH statuses (others are shown as they came).
const REPORT_STATUSES = {
  success: '已送达手机',
  'failed:user block': '未送达：用户已拒收公众号消息',
  'failed: system failed': '未送达：微信系统原因发送失败',
  'failed:system failed': '未送达：微信系统原因发送失败',
};

/**
 * 送达回执: what WeChat reported after accepting a template message. A status other than
 * `success` means the employee's phone did not get it, although the ERP was answered AA.
 */
export function deliveryReportSection(m) {
  const report = m.deliveryReport;
  const msgids = Array.isArray(m.templateMsgids) ? m.templateMsgids : [];
  if (!report && msgids.length === 0) return null;
  const ok = report && report.status === 'success';
  const ids = msgids.length ? html`<p class="small muted">模板消息 msgid：<span class="mono">${msgids.join('，')}</span></p>` : null;
  if (!report) {
    return html`<div id="detail-delivery-report" data-status="none">
      <p class="section-note">尚未收到微信的送达回执（模板消息发送任务完成事件 TEMPLATESENDJOBFINISH）。</p>${ids}
    </div>`;
  }
  const label = REPORT_STATUSES[report.status] || (ok ? '已送达手机' : `未送达：${report.status}`);
  return html`<div id="detail-delivery-report" data-status=${report.status} class=${ok ? 'report-ok' : 'report-failed'}>
    <p class=${`alert ${ok ? 'alert-ok' : 'alert-error'}`}>
      <b>送达回执：</b>${badge(ok ? '成功' : '失败', ok ? 'ok' : 'err')} ${label}
      ${!ok ? html`<br /><span class="small">ERP 已收到 AA 应答，但员工手机未收到这条模板消息；请联系员工确认，必要时重新发送或电话通知。</span>` : null}
    </p>
    ${detailList([
      ['状态', html`<span class="mono">${report.status}</span>`],
      ['回执时间', fmtTime(report.at)],
      ['msgid', report.msgid ? html`<span class="mono">${String(report.msgid)}</span>` : ''],
    ])}
    ${ids}
  </div>`;
}
