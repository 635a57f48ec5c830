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
