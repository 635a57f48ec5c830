// Times in the browser's own zone (the hospital's), numbers the way the staff read them.

const pad = (n) => String(n).padStart(2, '0');

export function fmtTime(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} 秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} 分钟`;
  const hrs = Math.floor(m / 60);
  if (hrs < 24) return `${hrs} 小时 ${m % 60} 分钟`;
  return `${Math.floor(hrs / 24)} 天 ${hrs % 24} 小时`;
}

/** One decimal, except where it would read as 100.0% or 0.0%. */
export function percent(part, total) {
  if (!total) return '—';
  const p = (100 * part) / total;
  return `${p >= 99.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

export function today() {
  const d = new Date();
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
}

/** How long ago, the way staff say it: 刚刚, 5分钟前, 3小时前, 2天前; older than 30 days, the date. */
export function fmtAgo(value, now = Date.now()) {
  if (!value) return '';
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return String(value);
  const s = Math.round((now - t) / 1000);
  if (s < 60) return '刚刚';
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}分钟前`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}小时前`;
  const d = Math.floor(h / 24);
  if (d <= 30) return `${d}天前`;
  return fmtTime(value).slice(0, 10);
}

/** Minutes precision, for expiry times on screen (2025-11-26 14:05). */
export function fmtMinute(value) {
  return fmtTime(value).slice(0, 16);
}

/** What is left until `value`: 剩 2 天 5 小时, or 已过期. */
export function fmtRemaining(value, now = Date.now()) {
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return '';
  return t <= now ? '已过期' : `剩 ${fmtDuration(t - now)}`;
}
