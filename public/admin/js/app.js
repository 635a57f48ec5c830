// The page around the views: sign-in or the signed-in shell (top bar, sandbox banner, the view the
// address names). Views are remounted on every change of address, which is what reloads them.
import { html, useEffect, useState } from '../vendor/htm-preact.js';
import { session, signOut } from './session.js';
import { setFiltersFromQuery, useStore } from './state.js';
import { ConfirmHost, Toast } from './ui.js';
import { Audit } from './views/audit.js';
import { Dashboard } from './views/dashboard.js';
import { Employees } from './views/employees.js';
import { MessageDetail } from './views/message.js';
import { Messages } from './views/messages.js';
import { SignIn } from './views/sign-in.js';

const NAV = [
  ['dashboard', '#/', '首页'],
  ['employees', '#/employees', '员工绑定'],
  ['messages', '#/messages', '消息记录'],
  ['audit', '#/audit', '操作记录'],
];

function decode(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part; // a hand-typed address with a stray %: look it up as typed
  }
}

function resolve(path) {
  if (path === '/employees') return { View: Employees, nav: 'employees', title: '员工绑定' };
  if (path === '/messages') return { View: Messages, nav: 'messages', title: '消息记录' };
  if (path.startsWith('/messages/')) return { View: MessageDetail, nav: 'messages', title: '消息详情', props: { id: decode(path.slice('/messages/'.length)) } };
  // Pushes refused before a GUID could be read are opened by their row id.
  if (path.startsWith('/message-id/')) return { View: MessageDetail, nav: 'messages', title: '消息详情', props: { id: decode(path.slice('/message-id/'.length)), byId: true } };
  if (path === '/audit') return { View: Audit, nav: 'audit', title: '操作记录' };
  return { View: Dashboard, nav: 'dashboard', title: '首页' };
}

/** Reads the address; a link into the message log with a query (#/messages?outcome=AE) sets its filters. */
function readRoute() {
  const hash = window.location.hash;
  const [path, query] = (hash.replace(/^#/, '') || '/').split('?');
  const params = new URLSearchParams(query || '');
  if (path === '/messages' && [...params.keys()].length > 0) setFiltersFromQuery('messages', params);
  return { hash, path };
}

function useRoute() {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const onChange = () => setRoute(readRoute());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/**
 * After a change of view, a screen reader starts from the new view's heading (its one h1), not
 * from wherever the link or button that led there was. The heading takes focus without becoming
 * a tab stop (tabindex -1), and the page is not scrolled by it.
 */
function focusHeading() {
  const heading = document.querySelector('#app-view main h1') || document.querySelector('#app-view main h2');
  if (!heading) return;
  if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  heading.focus({ preventScroll: true });
}

function Shell({ actor, sandbox }) {
  const route = useRoute();
  const { View, nav, title, props } = resolve(route.path);
  useEffect(() => {
    document.title = `${title} · 审批消息桥`;
    window.scrollTo(0, 0);
    focusHeading();
  }, [route]);

  return html`<div id="app-view">
    <a class="skip-link" href="#main" onClick=${(ev) => { ev.preventDefault(); focusHeading(); }}>跳到主要内容</a>
    <header class="topbar">
      <div class="topbar-inner">
        <a class="brand" href="#/"><span class="logo" aria-hidden="true">审</span><span class="brand-text">审批消息桥</span></a>
        <nav class="nav" aria-label="主导航">
          ${NAV.map(([key, href, label]) => html`<a key=${key} href=${href} data-nav=${key} class=${key === nav ? 'active' : null} aria-current=${key === nav ? 'page' : null}>${label}</a>`)}
        </nav>
        <div class="user">
          <span id="actor-name" class="actor" title="当前操作人">${actor ? `操作人：${actor}` : ''}</span>
          <button id="logout" type="button" class="btn btn-ghost btn-sm" onClick=${() => signOut('已退出登录。')}>退出登录</button>
        </div>
      </div>
    </header>
    <div id="sandbox-banner" class="banner banner-sandbox" role="status" hidden=${!sandbox}>
      <span class="tag">沙箱模式</span>未配置微信公众号凭据（WECHAT_APPID / WECHAT_SECRET），推送会被完整处理和记录，但<strong>不会向微信发送任何消息</strong>，应答均为 AA。
    </div>
    <main class="container" id="main">
      <${Toast} />
      <${View} key=${route.hash} ...${props} />
    </main>
    <${ConfirmHost} />
  </div>`;
}

export function App() {
  const s = useStore(session);
  // Nothing yet while a stored token is checked: neither the sign-in form nor data it may not see.
  if (s.status === 'checking') return null;
  if (s.status === 'out') return html`<${SignIn} notice=${s.notice} />`;
  return html`<${Shell} actor=${s.actor} sandbox=${s.sandbox} />`;
}
