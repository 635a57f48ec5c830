import { html, useRef, useState } from '../../vendor/htm-preact.js';
import { api, errorField, errorText, get, isStatus } from '../api.js';
import { Alert, Dialog, confirmDialog, toast, useDraft } from '../ui.js';

// The server's rules, checked here first so that a typo is pointed at before anything is sent.
const OPENID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;

function validate(v) {
  if (!v.employeeNo) return ['employeeNo', '请填写工号。'];
  if (v.employeeNo.length > 64) return ['employeeNo', '工号最多 64 个字符。'];
  // Empty is allowed: an employee without a binding yet, who binds by scanning an invitation.
  if (v.openid && !OPENID_PATTERN.test(v.openid)) return ['openid', 'openid 须为 6–64 位字母、数字、下划线（_）或连字符（-），或留空。'];
  if (v.name.length > 100) return ['name', '姓名最多 100 个字符。'];
  return null;
}

/**
 * Adds an employee (`record` null) or edits one. The openid is optional: empty saves the employee
 * without a binding (null), to be bound later through an invitation. When editing, an openid left
 * as it was is not sent, so a binding the employee made meanwhile is not overwritten.
 * `onSaved(added)` after the server has it.
 */
export function EmployeeDialog({ record, onClose, onSaved }) {
  const [draft, field] = useDraft(record ? { employeeNo: record.employeeNo, name: record.name || '', openid: record.openid || '' } : { employeeNo: '', name: '', openid: '' });
  const [active, setActive] = useState(record ? record.active : true);
  const [invalid, setInvalid] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const form = useRef(null);

  function flag(name, message, focus) {
    setInvalid(name);
    setError(message);
    if (focus) form.current.elements.namedItem(name).focus();
  }

  async function save(event) {
    event.preventDefault();
    const values = { employeeNo: draft.employeeNo.trim(), name: draft.name.trim(), openid: draft.openid.trim(), active };
    const problem = validate(values);
    if (problem) {
      flag(problem[0], problem[1], true);
      return;
    }
    flag('', '');
    setBusy(true);
    const path = `/employees/${encodeURIComponent(values.employeeNo)}`;
    try {
      if (!record) {
        // PUT would silently overwrite someone else's binding.
        const existing = await get(path).catch((err) => {
          if (isStatus(err, 404)) return null;
          throw err;
        });
        if (existing) {
          setBusy(false);
          flag('employeeNo', `工号 ${values.employeeNo} 已存在绑定（${existing.name || '未填姓名'}），请在列表中编辑。`);
          return;
        }
      }
      const json = { name: values.name, active: values.active };
      const before = record ? record.openid || '' : null;
      if (before === null || values.openid !== before) json.openid = values.openid || null;
      if (record && before && !values.openid) {
        const ok = await confirmDialog(`清空 openid 将解除工号 ${record.employeeNo} 与其微信的绑定，之后的审批推送将返回“工号关联账号不存在”，直到重新绑定。确定？`, { ok: '解除绑定并保存', danger: true, title: '解除绑定' });
        if (!ok) {
          setBusy(false);
          return;
        }
      }
      const saved = await api('PUT', path, { json });
      toast(saved.openid ? `已保存：${saved.employeeNo} ${saved.name || ''}`.trim() : `已保存：${saved.employeeNo} ${saved.name || ''}（未绑定，可点击“生成绑定码”让员工扫码绑定）`);
      onSaved(!record);
    } catch (err) {
      if (isStatus(err, 401)) return;
      setBusy(false);
      const name = errorField(err);
      flag(['openid', 'name', 'employeeNo'].includes(name) ? name : '', `保存失败：${errorText(err)}`);
    }
  }

  const mark = (name) => (invalid === name ? 'true' : null);
  return html`<${Dialog} id="emp-dialog" labelledBy="emp-dialog-title" onClose=${onClose}>
    <form ref=${form} id="emp-form" method="dialog" novalidate onSubmit=${save}>
      <h3 id="emp-dialog-title">${record ? `编辑员工：${record.employeeNo}` : '新增员工'}</h3>
      <label class="field">
        <span>工号 <em class="req">*</em></span>
        <input ...${field('employeeNo')} id="emp-f-no" type="text" maxlength="64" autocomplete="off" required
          readOnly=${Boolean(record)} aria-invalid=${mark('employeeNo')} autofocus=${!record} />
      </label>
      <label class="field">
        <span>姓名</span>
        <input ...${field('name')} id="emp-f-name" type="text" maxlength="100" autocomplete="off" aria-invalid=${mark('name')} />
      </label>
      <label class="field">
        <span>openid <small class="muted">（可留空）</small></span>
        <input ...${field('openid')} id="emp-f-openid" type="text" maxlength="64" autocomplete="off" spellcheck=${false}
          placeholder="留空：暂不绑定，稍后生成绑定码由员工扫码绑定" aria-invalid=${mark('openid')} autofocus=${Boolean(record)} />
        <small class="hint">6–64 位字母、数字、下划线或连字符（公众号下该用户的 openid）。通常无需填写：保存后点击“生成绑定码”，员工扫码即可自助绑定。</small>
      </label>
      <label class="check">
        <input id="emp-f-active" name="active" type="checkbox" checked=${active} onChange=${(ev) => setActive(ev.currentTarget.checked)} />
        <span>启用（停用后视为未绑定，推送将返回“工号关联账号不存在”）</span>
      </label>
      <${Alert} id="emp-f-error" role="alert" message=${error} />
      <div class="dialog-actions">
        <button type="button" class="btn" onClick=${onClose}>取消</button>
        <button type="submit" class="btn btn-primary" id="emp-f-save" value="save" disabled=${busy}>${busy ? '保存中…' : '保存'}</button>
      </div>
    </form>
  <//>`;
}
