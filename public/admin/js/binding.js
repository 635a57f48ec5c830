// How an employee can be reached: their binding (contract §9) and the 48-hour customer-service
// window (§10), in the words the staff use.
import { html } from '../vendor/htm-preact.js';
import { fmtAgo, fmtMinute, fmtRemaining, fmtTime } from './format.js';
import { badge } from './ui.js';

export const BINDINGS = [
  ['unbound', '未绑定', ''],
  ['invited', '待绑定', 'info'],
  ['bound', '已绑定', 'ok'],
  ['unfollowed', '已取消关注', 'warn'],
];

const BY_KEY = Object.fromEntries(BINDINGS.map(([key, label, kind]) => [key, { label, kind }]));

export const bindingLabel = (binding) => (BY_KEY[binding] ? BY_KEY[binding].label : binding || '—');

export const VIA_LABELS = { admin: '管理员录入', import: '批量导入', 'self-service': '员工自助绑定' };

/**
 * An older bridge answers no `binding`: derived from the openid there, so the column still says
 * something true.
 */
export function bindingOf(e) {
  if (e.binding) return e.binding;
  return e.openid ? 'bound' : 'unbound';
}

export function bindingBadge(binding) {
  const b = BY_KEY[binding];
  return b ? badge(b.label, b.kind) : badge(binding || '—');
}

/** The binding column: the badge, how it came about, and for 待绑定 the open code and its expiry. */
export function bindingCell(e) {
  const binding = bindingOf(e);
  const inv = e.invitation;
  return html`<div class="binding" data-binding=${binding}>
    ${bindingBadge(binding)}
    ${binding === 'bound' && e.boundVia ? html`<small class="muted binding-via">${VIA_LABELS[e.boundVia] || e.boundVia}</small>` : null}
    ${inv && inv.code
      ? html`<small class="invite-open" title=${`有效期至 ${fmtTime(inv.expiresAt)}`}>绑定码 <b class="code mono">${inv.code}</b> · ${fmtMinute(inv.expiresAt)} 到期</small>`
      : null}
  </div>`;
}

/**
 * The 最近互动 column. Open window: customer-service text reaches them now. Closed: what the bridge
 * will do instead, which depends on how it delivers (`delivery` from whoami, null when unknown).
 */
export function interactionCell(e, delivery) {
  if (!e.openid && !e.lastInteractionAt) return html`<span class="muted">—</span>`;
  const exact = e.lastInteractionAt ? `最近互动：${fmtTime(e.lastInteractionAt)}` : '该 openid 从未与公众号互动';
  if (e.windowOpen) {
    return html`<span class="interaction open" title=${exact}>${fmtAgo(e.lastInteractionAt)} · 可发客服消息</span>`;
  }
  const fallback = delivery === 'custom' ? '客服消息可能无法送达' : '将用模板消息';
  if (!e.lastInteractionAt) return html`<span class="interaction never" title=${exact}>从未互动 · ${fallback}</span>`;
  return html`<span class="interaction closed" title=${exact}>已超过48小时 · ${fallback}<small class="muted">${fmtAgo(e.lastInteractionAt)}</small></span>`;
}

export const expiryText = (expiresAt) => `${fmtMinute(expiresAt)}（${fmtRemaining(expiresAt)}）`;
