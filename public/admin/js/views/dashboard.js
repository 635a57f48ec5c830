import { html } from '../../vendor/htm-preact.js';
import { errorText, get } from '../api.js';
import { fmtDuration, fmtTime, percent } from '../format.js';
import { hrefOf, openMessage } from '../links.js';
import { useLoad } from '../load.js';
import { session, setSandbox } from '../session.js';
import { useStore } from '../state.js';
import { Alert, badge, cell, emptyRow } from '../ui.js';

/** Both calls are made even when one fails: the page shows what it has and names what it lacks. */
function loadDashboard(signal) {
  return Promise.allSettled([
    get('/stats', { signal }),
    get('/messages', { query: { outcome: 'AE', limit: 5 }, signal }),
  ]).then(([stats, failures]) => {
    if (stats.status === 'fulfilled') setSandbox(stats.value.sandbox === true);
    return { stats, failures };
  });
}

export function Dashboard() {
  const { data, reload } = useLoad('dashboard', loadDashboard);
  const s = useStore(session);
  const stats = data && data.stats;
  const failures = data && data.failures;
  const problems = [];
  if (stats && stats.status === 'rejected') problems.push(`统计数据：${errorText(stats.reason)}`);
  if (failures && failures.status === 'rejected') problems.push(`最近失败：${errorText(failures.reason)}`);

  return html`<section id="view-dashboard" class="view">
    <div class="page-head">
      <h2>首页</h2>
      <button type="button" class="btn btn-sm" id="dash-refresh" onClick=${reload}>刷新</button>
    </div>
    <${Alert} id="dash-error" message=${problems.join('；')} />
    <div class="cards" id="dash-cards">
      ${stats && stats.status === 'fulfilled' ? statCards(stats.value) : null}
      ${stats && wechatCard(s)}
    </div>
    <div class="panel">
      <div class="panel-head">
        <h3>最近失败</h3>
        <a href="#/messages?outcome=AE" id="dash-all-failures">查看全部失败消息 →</a>
      </div>
      <div class="table-wrap">
        <table class="table table-cards" id="dash-failures">
          <thead><tr><th>接收时间</th><th>工号</th><th>原因</th><th>GUID</th></tr></thead>
          <tbody>${failures ? failureRows(failures) : null}</tbody>
        </table>
      </div>
    </div>
  </section>`;
}

function failureRows(failures) {
  if (failures.status === 'rejected') return emptyRow(4, '无法加载');
  const items = failures.value.items || [];
  if (items.length === 0) return emptyRow(4, '暂无失败消息');
  return items.map((m) => html`<tr key=${m.id} class="clickable" onClick=${() => openMessage(m)}>
    ${cell('接收时间', fmtTime(m.receivedAt), 'nowrap')}
    ${cell('工号', m.employeeNo || '—')}
    ${cell('原因', m.reason || '', 'reason')}
    ${cell('GUID', html`<a href=${hrefOf(m)} class=${m.guid ? 'guid' : 'muted'}>${m.guid || '（无 GUID）'}</a>`)}
  </tr>`);
}

function statCards(stats) {
  const t = stats.today || {};
  return [
    html`<div class="card" id="card-today">
      <h3>今日推送</h3>
      <div class="big">${String(t.total || 0)}<small>条</small></div>
      <div class="sub">
        <span>成功 AA ${t.AA || 0}</span><span>失败 AE ${t.AE || 0}</span>${t.unknown ? html`<span>结果未知 ${t.unknown}</span>` : null}
      </div>
    </div>`,
    shareCard('card-24h', '近 24 小时成功率', stats.last24h || {}),
    shareCard('card-7d', '近 7 天成功率', stats.last7d || {}),
    tokenCard(stats),
  ];
}

function shareCard(id, title, s) {
  const total = s.total || 0;
  const aa = s.AA || 0;
  const ae = s.AE || 0;
  // A style object is set through the CSSOM, which style-src 'self' allows; a style attribute is not.
  const width = (n) => ({ width: `${total ? (100 * n) / total : 0}%` });
  return html`<div class="card" id=${id}>
    <h3>${title}</h3>
    <div class="big">${percent(aa, total)}<small>共 ${total} 条</small></div>
    <div class="bar" role="img" aria-label=${`AA ${aa} 条，AE ${ae} 条`}><i class="aa" style=${width(aa)}></i><i class="ae" style=${width(ae)}></i></div>
    <div class="legend">
      <span><i class="dot aa"></i>AA ${aa}（${percent(aa, total)}）</span>
      <span><i class="dot ae"></i>AE ${ae}（${percent(ae, total)}）</span>
      ${s.unknown ? html`<span>结果未知 ${s.unknown}</span>` : null}
      ${s.sandbox ? html`<span>沙箱 ${s.sandbox}</span>` : null}
    </div>
  </div>`;
}

const TOKEN_APIS = { classic: 'token（classic）', stable: 'stable_token' };

function tokenCard(stats) {
  const token = stats.token;
  const card = (body, warn) => html`<div class=${warn ? 'card warn' : 'card'} id="card-token"><h3>微信 access_token</h3>${body}</div>`;
  if (stats.sandbox) return card(html`<div class="big">—</div><div class="sub">沙箱模式：不获取令牌</div>`);
  if (!token || !token.fetchedAt) return card(html`<div class="big">未获取</div><div class="sub">首次发送时获取</div>`);
  const now = Date.now();
  const fetched = new Date(token.fetchedAt).getTime();
  const expires = token.expiresAt ? new Date(token.expiresAt).getTime() : NaN;
  const expired = !Number.isNaN(expires) && expires <= now;
  return card(html`
    <div class="big">${fmtDuration(now - fetched)}<small>前获取</small></div>
    <div class="sub">
      <span>接口：${TOKEN_APIS[token.api] || token.api || '—'}</span>
      ${Number.isNaN(expires) ? null : html`<span>${expired ? '已过期，下次发送时刷新' : `${fmtDuration(expires - now)}后过期`}</span>`}
    </div>
    <div class="sub">获取于 ${fmtTime(token.fetchedAt)}</div>`, expired);
}

const DELIVERY = {
  custom: ['客服消息', '仅在员工 48 小时内与公众号互动过时能送达'],
  template: ['模板消息', '不受 48 小时限制'],
  auto: ['自动', '48 小时内互动过用客服消息，否则用模板消息'],
  sandbox: ['沙箱', '不向微信发送'],
};

/** How pushes go out and whether the callback (self-service binding) is on: from whoami, when the bridge says. */
function wechatCard(s) {
  if (s.delivery === null && s.callback === null) return null;
  const [mode, note] = DELIVERY[s.delivery] || [s.delivery || '—', ''];
  return html`<div class=${s.callback === false ? 'card warn' : 'card'} id="card-wechat">
    <h3>公众号接入</h3>
    <div class="big" id="dash-delivery">${mode}<small>发送方式</small></div>
    ${note ? html`<div class="sub">${note}</div>` : null}
    ${s.callback !== null
      ? html`<div class="sub" id="dash-callback">服务器回调（/wechat/callback）：${s.callback ? badge('已启用', 'ok') : badge('未启用', 'warn')}
          ${s.callback ? html`<span>员工可扫码自助绑定</span>` : html`<span>未设置 WECHAT_CALLBACK_TOKEN，扫码绑定不可用</span>`}</div>`
      : null}
  </div>`;
}
