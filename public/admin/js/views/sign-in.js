import { html, useEffect, useRef, useState } from '../../vendor/htm-preact.js';
import { errorText, get, isStatus, waitText } from '../api.js';
import { signIn } from '../session.js';
import { Alert } from '../ui.js';

/** `notice`: why the user is here again (signed out, token rotated); replaced by the next error. */
export function SignIn({ notice }) {
  const [error, setError] = useState(notice);
  const [busy, setBusy] = useState(false);
  // After a 429: when this address may try again (Retry-After), counted down on screen.
  const [waitUntil, setWaitUntil] = useState(null);
  const [, tick] = useState(0);
  const input = useRef(null);
  useEffect(() => {
    if (waitUntil === null) return undefined;
    const timer = setInterval(() => {
      tick((n) => n + 1);
      if (Date.now() >= waitUntil) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [waitUntil]);
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
    setWaitUntil(null);
    try {
      // login: a 401 here is a wrong token, not an expired session.
      const who = await get('/whoami', { token, login: true });
      signIn(token, who);
    } catch (err) {
      if (isStatus(err, 429)) {
        // Refused for this address, not for the token: a colleague with the right token still gets in.
        const seconds = err.retryAfter ?? 60;
        setWaitUntil(Date.now() + 1000 * seconds);
        setError(`本机所在网络地址的登录失败次数过多，已暂时限制登录：请 ${waitText(seconds)}后再试。持有正确管理令牌的同事不受此限制，可以直接登录。`);
      } else {
        setError(isStatus(err, 401) ? '管理令牌错误，请检查后重试。' : `登录失败：${errorText(err)}`);
      }
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
      ${waitUntil !== null && html`<p id="login-wait" class="login-wait">${waitLeft(waitUntil)}</p>`}
      <button id="login-submit" type="submit" class="btn btn-primary btn-block" disabled=${busy}>${busy ? '正在验证…' : '登录'}</button>
      <p class="muted small">令牌仅保存在本浏览器标签页的会话中，关闭标签页即失效。未设置 ADMIN_TOKEN 时，令牌在服务启动日志中打印一次。</p>
    </form>
  </main>`;
}

/** The time left before this address may try again, ticking once a second. */
function waitLeft(until) {
  const left = Math.ceil((until - Date.now()) / 1000);
  return left > 0 ? `剩余等待时间：${waitText(left)}` : '等待时间已过，可以重新登录。';
}
