// The applicant of a message, on the message itself (issue 11, "fix failures where they are
// seen"): who it was for, whether they are bound, and a button to add or fix their binding right
// there, with the employee dialog of the employees page. After saving, the page offers to resend
// every failed message of that employee.
import { html, useEffect, useState } from '../../vendor/htm-preact.js';
import { api, errorText, isStatus } from '../api.js';
import { bindingCell, bindingOf, interactionCell } from '../binding.js';
import { session } from '../session.js';
import { useStore } from '../state.js';
import { badge, toast } from '../ui.js';
import { BulkResend, listAll } from './bulk-resend.js';
import { EmployeeDialog } from './employee-dialog.js';
import { detailList } from './message-parts.js';

/** `m` is the message detail (with `employee`, null when the number is not in the employee list). */
export function ApplicantPanel({ m, reload }) {
  const s = useStore(session);
  // undefined: closed; null: adding; a record: editing.
  const [editing, setEditing] = useState(undefined);
  // The message shows the openid masked; the dialog edits the mapping as the employee list has it.
  async function edit(employee) {
    try {
      setEditing(await api('GET', `/employees/${encodeURIComponent(employee.employeeNo)}`));
    } catch (err) {
      if (!isStatus(err, 401)) toast(`无法读取员工：${errorText(err)}`, 'error');
    }
  }
  const [offer, setOffer] = useState(null);
  if (!m.employeeNo) return null;
  const e = m.employee;
  const failing = m.status === 'failed' || m.status === 'unknown';

  const saved = () => {
    const employeeNo = m.employeeNo;
    setEditing(undefined);
    reload();
    setOffer({
      title: `重新发送工号 ${employeeNo} 的失败消息`,
      intro: `已保存工号 ${employeeNo} 的绑定。是否现在重新发送该员工的失败消息？`,
      load: (signal, onProgress) => listAll({ employeeNo, outcome: 'AE' }, signal, onProgress),
    });
  };

  const body = e
    ? html`
      ${detailList([
        ['工号', html`<span class="mono" id="applicant-no">${e.employeeNo}</span>`],
        ['姓名', html`<span id="applicant-name">${e.name || '（未填姓名）'}</span>`],
        ['绑定状态', html`<span id="applicant-binding">${bindingCell(e)}</span>`],
        ['openid', e.openid ? html`<span class="mono">${e.openid}</span>` : html`<span class="muted">未绑定</span>`],
        ['最近互动', interactionCell(e, s.delivery)],
        ['状态', e.active ? badge('启用', 'ok') : badge('停用', 'err')],
      ])}
      ${failing && !e.active ? html`<p class="section-note applicant-note">该员工已停用：推送会返回“工号关联账号不存在”。在职的员工请编辑后勾选“启用”。</p>` : null}
      ${failing && e.active && bindingOf(e) !== 'bound' ? html`<p class="section-note applicant-note">该员工尚未绑定微信（或已取消关注），消息无法送达。请填写 openid，或在员工绑定页生成绑定码让员工扫码。</p>` : null}
      <div class="applicant-actions">
        <button type="button" class="btn btn-primary" id="applicant-edit" aria-label=${`编辑绑定（工号 ${e.employeeNo}${e.name ? ` ${e.name}` : ''}）`} onClick=${() => edit(e)}>编辑绑定</button>
      </div>`
    : html`
      <p class="alert alert-error" id="applicant-missing">工号 <b class="mono">${m.employeeNo}</b> 不在员工名单中，所以推送返回“工号关联账号不存在”。添加该员工并填写 openid（或保存后生成绑定码让员工扫码），然后重新发送。</p>
      <div class="applicant-actions">
        <button type="button" class="btn btn-primary" id="applicant-add" onClick=${() => setEditing(null)}>添加员工 ${m.employeeNo} 并绑定</button>
      </div>`;

  return html`
    <div class="panel" id="detail-applicant" data-binding=${e ? bindingOf(e) : 'missing'}>
      <div class="panel-head"><h2 class="panel-title">申请人</h2></div>
      <div class="panel-body">${body}</div>
    </div>
    ${editing !== undefined && html`<${AddOrEdit} record=${editing} employeeNo=${m.employeeNo} onClose=${() => setEditing(undefined)} onSaved=${saved} />`}
    ${offer && html`<${BulkResend} ...${offer} quietIfNothing=${true} onClose=${() => setOffer(null)} onFinished=${reload} />`}`;
}

/**
 * The employees page's dialog as it is. Adding, it starts empty; the employee number is the
 * message's, so it is filled in the way a person would type it (the dialog reads its inputs'
 * input events) and the cursor goes on to the name.
 */
function AddOrEdit({ record, employeeNo, onClose, onSaved }) {
  useEffect(() => {
    if (record) return;
    const no = document.getElementById('emp-f-no');
    if (!no || no.value) return;
    no.value = employeeNo;
    no.dispatchEvent(new Event('input', { bubbles: true }));
    const name = document.getElementById('emp-f-name');
    if (name) name.focus();
  }, []);
  return html`<${EmployeeDialog} record=${record} onClose=${onClose} onSaved=${onSaved} />`;
}
