import { html, useEffect, useState } from '../../vendor/htm-preact.js';
import { api, errorText, get, isStatus } from '../api.js';
import { fmtTime } from '../format.js';
import { useLoad } from '../load.js';
import { lastResend, useFilters, useStore } from '../state.js';
import { Alert, ackBadge, badge, cell, confirmDialog, statusBadge } from '../ui.js';
import { ApplicantPanel } from './applicant.js';
import { ackNote, approvalSection, attemptsTable, deliveryReportSection, detailList, panel, textsSection } from './message-parts.js';
import { messagesAddress } from './messages.js';

/** One message in full. `id` is a GUID, or with `byId` the row id of a push refused before its GUID counted. */
export function MessageDetail({ id, byId }) {
  const path = byId ? `/messages/by-id/${encodeURIComponent(id)}` : `/messages/${encodeURIComponent(id)}`;
  const detail = useLoad(path, (signal) => get(path, { signal }));
  const m = detail.data;
  let error = '';
  if (detail.error) {
    error = isStatus(detail.error, 404) ? `找不到${byId ? '编号' : ' GUID '}为 ${id} 的消息。` : `无法加载消息：${errorText(detail.error)}`;
  }
  // Back to the list as it was filtered.
  const [filters] = useFilters('messages');
  return html`<section id="view-message" class="view">
    <div class="page-head">
      <h1 tabindex="-1">消息详情</h1>
      <a class="btn btn-sm" href=${messagesAddress(filters)} id="detail-back">← 返回列表</a>
    </div>
    <${Alert} id="detail-error" message=${error} />
    <div id="detail-body">
      ${!m && !error ? html`<p class="muted">加载中…</p>` : null}
      ${m && html`<${Message} m=${m} failed=${detail.error} reload=${detail.reload} />`}
    </div>
  </section>`;
}

function Message({ m, failed, reload }) {
  const resent = useStore(lastResend);
  const [busy, setBusy] = useState(false);
  // The button stays busy until the message has been read again after the resend (or that failed).
  useEffect(() => setBusy(false), [m, failed]);

  async function resend(force) {
    if (!force && m.status === 'unknown') {
      const who = m.employee && m.employee.name ? `${m.employee.name}（工号 ${m.employeeNo}）` : `工号 ${m.employeeNo || '—'}`;
      const ok = await confirmDialog(
        `这条消息的发送结果未知：上次调用微信接口时没有及时得到应答，微信可能已经收到并把消息送达了员工。\n再次发送可能让${who}收到重复的通知。建议先向员工确认是否已收到。确定重新发送吗？`,
        { ok: '仍然重新发送', danger: true, title: '结果未知：确认重新发送' },
      );
      if (!ok) return;
    }
    if (force) {
      const ok = await confirmDialog(`这条消息${m.status === 'sandbox' ? '在沙箱模式下处理过' : '已成功送达'}。\n确定要再次向申请人（工号 ${m.employeeNo || '—'}）发送微信消息吗？申请人会收到重复的通知。`, { ok: '强制重新发送', danger: true, title: '强制重新发送' });
      if (!ok) return;
    }
    setBusy(true);
    try {
      const ack = await api('POST', `/messages/${encodeURIComponent(m.guid)}/resend`, { json: { force } });
      lastResend.set({ guid: m.guid, ackCode: ack.ackCode, reason: ack.reason });
    } catch (err) {
      if (isStatus(err, 401)) return;
      lastResend.set({ guid: m.guid, error: isStatus(err, 409) ? `未重新发送：${err.message}` : `重新发送失败：${errorText(err)}` });
    }
    reload();
  }

  let action = null;
  if (m.status === 'failed' || m.status === 'unknown') {
    action = html`<button type="button" class="btn btn-primary" id="resend" disabled=${busy} onClick=${() => resend(false)}>${busy ? '发送中…' : '重新发送'}</button>`;
  } else if (m.status === 'delivered' || m.status === 'sandbox') {
    action = html`<button type="button" class="btn btn-warn" id="resend-force" disabled=${busy} onClick=${() => resend(true)}>${busy ? '发送中…' : '强制重新发送'}</button>`;
  } else if (m.status === 'processing') {
    action = html`<span class="muted small">正在处理中，稍后刷新</span>`;
  }

  const report = deliveryReportSection(m);
  return html`
    <div class="panel"><div class="panel-body">
      <div class="detail-head">
        <div>
          <div class="guid" id="detail-guid">${m.guid}</div>
          <div class="outcome" id="detail-outcome">${ackBadge(m.ackCode)}${statusBadge(m.status)}${reportBadge(m.deliveryReport)}<span>${m.reason || ''}</span></div>
        </div>
        <div class="resend-box">${action}</div>
      </div>
      ${m.hint && (m.status === 'failed' || m.status === 'unknown') ? html`<p class="alert alert-info hint-box" id="detail-hint"><b>处理建议：</b>${m.hint}</p>` : null}
      <div id="resend-result" class="resend-result" aria-live="polite">${resent && resent.guid === m.guid ? resendResult(resent) : null}</div>
    </div></div>
    <${ApplicantPanel} m=${m} reload=${reload} />
    ${panel('基本信息', detailList([
      ['接收时间', fmtTime(m.receivedAt)],
      ['更新时间', fmtTime(m.updatedAt)],
      ['完成时间', fmtTime(m.finishedAt)],
      ['送达时间', fmtTime(m.deliveredAt)],
      ['申请人工号', m.employeeNo],
      ['openid', m.openid ? html`<span class="mono">${m.openid}</span>` : ''],
      ['推送次数', String(m.pushCount || 1)],
      ['封装', m.envelope],
      ['服务代码', m.action],
      ['Content-Type', m.contentType],
      ['发送方', m.senderId],
      ['接收方', m.receiverId],
    ]))}
    ${panel('审批内容', approvalSection(m.approval))}
    ${panel('发送的微信文本', textsSection(m.texts))}
    ${panel('发送记录', attemptsTable(m.attempts))}
    ${report && panel('送达回执', report)}
    ${panel('收到的报文（原样）', html`<pre class="block" id="detail-payload" role="region" tabindex="0" aria-label="收到的报文（原样）">${m.payload || ''}</pre>`)}
    ${panel('返回给 ERP 的应答（最近一次推送）', [
      m.ackXml ? html`<pre class="block" id="detail-ack" role="region" tabindex="0" aria-label="返回给 ERP 的应答">${m.ackXml}</pre>` : html`<p class="section-note">尚无应答</p>`,
      ackNote(m),
    ])}
    ${Array.isArray(m.related) && m.related.length > 0 && panel('同一 GUID 的其他推送记录', html`<div class="table-wrap"><table class="table table-cards">
      <thead><tr><th>编号</th><th>接收时间</th><th>状态</th><th>原因</th></tr></thead>
      <tbody>${m.related.map((r) => html`<tr key=${r.id}>
        ${cell('编号', String(r.id), 'nowrap')}${cell('接收时间', fmtTime(r.receivedAt), 'nowrap')}${cell('状态', statusBadge(r.status))}${cell('原因', r.reason || '', 'reason')}
      </tr>`)}</tbody>
    </table></div>`)}`;
}

/** Next to the outcome: a template message WeChat reported as not delivered to the phone. */
function reportBadge(report) {
  if (!report || !report.status) return null;
  return report.status === 'success' ? badge('回执：手机已收到', 'ok') : badge('回执：手机未送达', 'err');
}

function resendResult(r) {
  if (r.error) return html`<p class="alert alert-error">${r.error}</p>`;
  return html`<p class=${`alert ${r.ackCode === 'AA' ? 'alert-ok' : 'alert-error'}`} id="resend-ack">重新发送结果：${ackBadge(r.ackCode)} ${r.reason || ''}</p>`;
}
