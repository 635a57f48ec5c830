import { html, useEffect, useRef, useState } from '../../vendor/htm-preact.js';
import { errorText, get, isStatus } from '../api.js';
import { signIn } from '../session.js';
import { Alert } from '../ui.js';

/** `notice`: why the user is here again (signed out, token rotated); replaced by the next error. */
export function SignIn({ notice }) {
  const [error, setError] = useState(notice);
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEffect(() => {
    document.title = '登录 · 审批消息桥';
    // Not the autofocus attribute: a document honours that once, and this form comes back after sign-out.
    input.current.focus();
  }, []);

  async function submit(event) {
    event.preventDefault();
    const token = input.current.value.trim();
    if (!token) {
      setError('请输入管理令牌。');
      input.current.focus();
      return;
    }
    setBusy(true);
    setError('');
    try {
      // login: a 401 here is a wrong token, not an expired session.
      const who = await get('/whoami', { token, login: true });
      signIn(token, who);
    } catch (err) {
      setError(isStatus(err, 401) ? '管理令牌错误，请检查后重试。' : `登录失败：${errorText(err)}`);
      setBusy(false);
      input.current.select();
    }
  }

  return html`<main id="login-view" class="login">
    <form id="login-form" class="login-card" autocomplete="off" novalidate onSubmit=${submit}>
      <div class="login-brand">
        <span class="logo" aria-hidden="true">审</span>
        <div>
          <h1>审批消息桥</h1>
          <p class="muted">ERP 审批推送 → 微信通知 · 管理后台</p>
        </div>
      </div>
      <label class="field">
        <span>管理令牌（ADMIN_TOKEN）</span>
        <input ref=${input} id="login-token" name="token" type="password" autocomplete="current-password" required
          placeholder="请输入管理令牌" spellcheck=${false} />
      </label>
      <${Alert} id="login-error" role="alert" message=${error} />
      <button id="login-submit" type="submit" class="btn btn-primary btn-block" disabled=${busy}>${busy ? '正在验证…' : '登录'}</button>
      <p class="muted small">令牌仅保存在本浏览器标签页的会话中，关闭标签页即失效。未设置 ADMIN_TOKEN 时，令牌在服务启动日志中打印一次。</p>
    </form>
  </main>`;
}
