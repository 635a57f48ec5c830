import { html, useEffect, useRef, useState } from '../../vendor/htm-preact.js';
import { errorText, get } from '../api.js';
import { fmtTime, percent } from '../format.js';
import { hrefOf, openMessage } from '../links.js';
import { useLoad } from '../load.js';
import { session, setSandbox } from '../session.js';
import { useStore } from '../state.js';
import { Alert, badge, cell, emptyRow } from '../ui.js';
import { OutcomeChart } from './chart.js';

/** How often the dashboard reads the numbers again while it is on screen. */
export const REFRESH_MS = 30_000;

/** Every call is made even when one fails: the page shows what it has and names what it lacks. */
function loadDashboard(signal) {
  return Promise.allSettled([
    get('/stats', { signal }),
    get('/messages', { query: { outcome: 'AE', limit: 5 }, signal }),
    get('/stats/series', { query: { range: '7d' }, signal }),
    get('/stats/series', { query: { range: '24h' }, signal }),
  ]).then(([stats, failures, week, day]) => {
    if (stats.status === 'fulfilled') setSandbox(stats.value.sandbox === true);
    return { stats, failures, week, day, at: Date.now() };
  });
}

const hidden = () => document.visibilityState === 'hidden' || document.hidden === true;

/**
 * Calls `refresh` every `everyMs` while the tab is visible. Hidden, the timer is stopped; back on
 * screen, it refreshes at once when the last refresh is older than `everyMs`, else when it is due.
 * `lastAt()` tells when the data was last asked for.
 */
function useAutoRefresh(refresh, everyMs) {
  const [paused, setPaused] = useState(hidden);
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;
  useEffect(() => {
    let timer = null;
    let last = Date.now();
    const run = () => {
      last = Date.now();
      refreshRef.current();
      schedule(everyMs);
    };
    const schedule = (ms) => {
      clearTimeout(timer);
      timer = setTimeout(run, Math.max(0, ms));
    };
    const onVisibility = () => {
      if (hidden()) {
        clearTimeout(timer);
        timer = null;
        setPaused(true);
        return;
      }
      setPaused(false);
      const due = everyMs - (Date.now() - last);
      if (due <= 0) run();
      else schedule(due);
    };
    if (!hidden()) schedule(everyMs);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [everyMs]);
  return paused;
}

/** Re-renders once a second while visible (the token's age ticks). */
function useSecondTicker(paused) {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (paused) return undefined;
    const timer = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [paused]);
}

export function Dashboard() {
  const { data, reload, loading } = useLoad('dashboard', loadDashboard);
  const paused = useAutoRefresh(reload, REFRESH_MS);
  useSecondTicker(paused);
  const s = useStore(session);
  const stats = data && data.stats;
  const failures = data && data.failures;
  const problems = [];
  if (stats && stats.status === 'rejected') problems.push(`统计数据：${errorText(stats.reason)}`);
  if (failures && failures.status === 'rejected') problems.push(`最近失败：${errorText(failures.reason)}`);
  if (data && data.week.status === 'rejected') problems.push(`近 7 天趋势：${errorText(data.week.reason)}`);
  if (data && data.day.status === 'rejected') problems.push(`近 24 小时趋势：${errorText(data.day.reason)}`);

  return html`<section id="view-dashboard" class="view">
    <div class="page-head">
      <h1 tabindex="-1">首页</h1>
      <div class="dash-refresh">
        <span id="dash-auto" class="muted small" data-state=${paused ? 'paused' : 'running'} aria-live="off">
          ${paused ? '自动刷新已暂停（页面不在前台）' : `每 30 秒自动刷新${data ? ` · 更新于 ${fmtTime(data.at).slice(11)}` : ''}`}
        </span>
        <button type="button" class="btn btn-sm" id="dash-refresh" disabled=${loading} onClick=${reload}>${loading ? '刷新中…' : '刷新'}</button>
      </div>
    </div>
    <${Alert} id="dash-error" message=${problems.join('；')} />
    <div class="cards" id="dash-cards">
      ${stats && stats.status === 'fulfilled' ? statCards(stats.value) : null}
      ${stats && wechatCard(s)}
    </div>
    ${stats && stats.status === 'fulfilled' && html`<p class="dash-note muted small" id="dash-note">
      推送：ERP 每调用一次计一次，重复推送和被拒收的推送也计入；消息：每个 GUID 一条。当前结果是手动重新发送之后的结果，
      可能与推送时告知 ERP 的应答不同（重新发送不会再通知 ERP）。沙箱模式的消息没有实际发送，不计入送达；结果未知的消息可能已送达，单独列出，不算作失败。
    </p>`}
    ${data && html`<div class="charts" id="dash-charts">
      ${chartPanel('近 7 天（每天）', 'chart-7d', data.week, '7d')}
      ${chartPanel('近 24 小时（每小时）', 'chart-24h', data.day, '24h')}
    </div>`}
    <div class="panel">
      <div class="panel-head">
        <h2 class="panel-title">最近失败</h2>
        <a href="#/messages?outcome=AE" id="dash-all-failures">查看全部失败消息 →</a>
      </div>
      <div class="table-wrap">
        <table class="table table-cards" id="dash-failures">
          <thead><tr><th>接收时间</th><th>申请人</th><th>原因</th><th>GUID</th></tr></thead>
          <tbody>${failures ? failureRows(failures) : null}</tbody>
        </table>
      </div>
    </div>
  </section>`;
}

function chartPanel(title, id, settled, range) {
  return html`<div class="panel chart-panel">
    <div class="panel-head"><h2 class="panel-title">${title}</h2><span class="muted small">按接收时间统计的消息及其当前结果（含手动重发）</span></div>
    <div class="panel-body">
      ${settled.status === 'fulfilled'
        ? html`<${OutcomeChart} id=${id} caption=${title} buckets=${settled.value.buckets} range=${range} />`
        : html`<p class="section-note">无法加载</p>`}
    </div>
  </div>`;
}

function failureRows(failures) {
  if (failures.status === 'rejected') return emptyRow(4, '无法加载');
  const items = failures.value.items || [];
  if (items.length === 0) return emptyRow(4, '暂无失败消息');
  return items.map((m) => html`<tr key=${m.id} class="clickable" onClick=${() => openMessage(m)}>
    ${cell('接收时间', fmtTime(m.receivedAt), 'nowrap')}
    ${cell('申请人', [m.employeeNo || '—', m.applicantName].filter(Boolean).join(' '))}
    ${cell('原因', m.reason || '', 'reason')}
    ${cell('GUID', html`<a href=${hrefOf(m)} class=${m.guid ? 'guid' : 'muted'}>${m.guid || '（无 GUID）'}</a>`)}
  </tr>`);
}

/**
 * One window's counts in the words the dashboard uses. A newer bridge says it all (`pushes`,
 * `messages`, `erpTold`, `current`); from an older one what can be derived is derived and the
 * rest left out. Sandbox messages have an AA ack but reached no one: they are not successes here,
 * and an unknown outcome (AE to the ERP) is not counted as a failure.
 */
function countsOf(w) {
  const c = w.current || {};
  const sandbox = c.sandbox ?? w.sandbox ?? 0;
  const unknown = c.unknown ?? w.unknown ?? 0;
  const delivered = c.delivered ?? Math.max(0, (w.AA || 0) - sandbox);
  const failed = c.failed ?? Math.max(0, (w.AE || 0) - unknown);
  return {
    pushes: w.pushes ?? null,
    messages: w.messages ?? w.total ?? 0,
    delivered,
    failed,
    unknown,
    sandbox,
    processing: c.processing || 0,
    refused: c.refused ?? null,
    erpTold: w.erpTold || null,
  };
}

function statCards(stats) {
  return [
    windowCard('card-today', '今日', stats.today || {}),
    windowCard('card-24h', '近 24 小时', stats.last24h || {}),
    windowCard('card-7d', '近 7 天', stats.last7d || {}),
    tokenCard(stats),
  ];
}

function windowCard(id, title, w) {
  const c = countsOf(w);
  // What could have been delivered: sandbox messages were never sent, so they count neither way.
  const sendable = c.delivered + c.failed + c.unknown + c.processing;
  const width = (n) => ({ width: `${sendable + c.sandbox ? (100 * n) / (sendable + c.sandbox) : 0}%` });
  return html`<div class="card window-card" id=${id}>
    <h2 class="card-title">${title}</h2>
    <div class="big"><span class="n-pushes">${c.pushes ?? c.messages}</span><small>次推送</small></div>
    <div class="sub" data-field="volume">
      ${c.pushes !== null
        ? html`<span>收到推送 ${c.pushes} 次</span><span>涉及消息 ${c.messages} 条</span>${c.refused ? html`<span>拒收 ${c.refused} 次</span>` : null}`
        : html`<span>消息 ${c.messages} 条</span>`}
    </div>
    <h3 class="card-sub">当前结果（含手动重发）</h3>
    <div class="bar" role="img" aria-label=${`已送达 ${c.delivered} 条，失败 ${c.failed} 条，结果未知 ${c.unknown} 条，沙箱 ${c.sandbox} 条`}>
      <i class="aa" style=${width(c.delivered)}></i><i class="unknown" style=${width(c.unknown)}></i><i class="ae" style=${width(c.failed)}></i><i class="sandbox" style=${width(c.sandbox)}></i>
    </div>
    <div class="legend" data-field="current">
      <span><i class="dot aa"></i>已送达 <b data-count="delivered">${c.delivered}</b></span>
      <span><i class="dot ae"></i>失败 <b data-count="failed">${c.failed}</b></span>
      <span><i class="dot unknown"></i>结果未知 <b data-count="unknown">${c.unknown}</b></span>
      ${c.sandbox ? html`<span><i class="dot sandbox"></i>沙箱（未发送）<b data-count="sandbox">${c.sandbox}</b></span>` : null}
      ${c.processing ? html`<span>处理中 ${c.processing}</span>` : null}
    </div>
    <div class="sub" data-field="rate">送达率 <b>${percent(c.delivered, sendable)}</b>（已送达 ÷ 实际发送的消息，不含沙箱）</div>
    ${c.erpTold
      ? html`<div class="sub erp-told" data-field="erp">推送时告知 ERP：<span>AA ${c.erpTold.AA || 0}</span><span>AE ${c.erpTold.AE || 0}</span></div>`
      : null}
  </div>`;
}

const TOKEN_APIS = { classic: 'token（classic）', stable: 'stable_token' };

/** An age or a remaining time to the second, so that it visibly ticks: 45 秒, 12 分 05 秒, 1 小时 40 分. */
export function clockText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} 秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} 分 ${String(s % 60).padStart(2, '0')} 秒`;
  return `${Math.floor(m / 60)} 小时 ${String(m % 60).padStart(2, '0')} 分`;
}

function tokenCard(stats) {
  const token = stats.token;
  const card = (body, warn) => html`<div class=${warn ? 'card warn' : 'card'} id="card-token"><h2 class="card-title">微信 access_token</h2>${body}</div>`;
  if (stats.sandbox) return card(html`<div class="big">—</div><div class="sub">沙箱模式：不获取令牌</div>`);
  if (!token || !token.fetchedAt) return card(html`<div class="big">未获取</div><div class="sub">首次发送时获取</div>`);
  const now = Date.now();
  const fetched = new Date(token.fetchedAt).getTime();
  const expires = token.expiresAt ? new Date(token.expiresAt).getTime() : NaN;
  const expired = !Number.isNaN(expires) && expires <= now;
  return card(html`
    <div class="big"><span id="token-age">${clockText(now - fetched)}</span><small>前获取</small></div>
    <div class="sub">
      <span>接口：${TOKEN_APIS[token.api] || token.api || '—'}</span>
      ${Number.isNaN(expires) ? null : html`<span id="token-expiry">${expired ? '已过期，下次发送时刷新' : `${clockText(expires - now)}后过期`}</span>`}
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
    <h2 class="card-title">公众号接入</h2>
    <div class="big" id="dash-delivery">${mode}<small>发送方式</small></div>
    ${note ? html`<div class="sub">${note}</div>` : null}
    ${s.callback !== null
      ? html`<div class="sub" id="dash-callback">服务器回调（/wechat/callback）：${s.callback ? badge('已启用', 'ok') : badge('未启用', 'warn')}
          ${s.callback ? html`<span>员工可扫码自助绑定</span>` : html`<span>未设置 WECHAT_CALLBACK_TOKEN，扫码绑定不可用</span>`}</div>`
      : null}
  </div>`;
}
