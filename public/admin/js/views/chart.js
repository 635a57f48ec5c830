// The dashboard's chart of messages per outcome: stacked bars drawn as inline SVG by this file (no
// library, nothing from the internet). Colours come from classes in style.css, not from style
// attributes, which the page's CSP forbids.
import { html } from '../../vendor/htm-preact.js';

/** Bottom to top. `key` is the bucket's field from GET /admin/api/stats/series. */
export const SERIES = [
  { key: 'AA', cls: 'aa', label: '已送达' },
  { key: 'sandbox', cls: 'sandbox', label: '沙箱（未发送）' },
  { key: 'unknown', cls: 'unknown', label: '结果未知' },
  { key: 'AE', cls: 'ae', label: '失败或拒收' },
];

const W = 720;
const H = 220;
const M = { top: 12, right: 8, bottom: 26, left: 40 };
const pad = (n) => String(n).padStart(2, '0');
const WEEKDAYS = '日一二三四五六';

/** How a bucket is named on the axis and in words. */
function bucketLabels(start, range) {
  const d = new Date(start);
  if (range === '24h') {
    const hour = `${pad(d.getHours())}:00`;
    return { axis: `${d.getHours()}时`, long: `${d.getMonth() + 1}月${d.getDate()}日 ${hour}–${pad((d.getHours() + 1) % 24)}:00` };
  }
  return { axis: `${d.getMonth() + 1}/${d.getDate()}`, long: `${d.getMonth() + 1}月${d.getDate()}日（周${WEEKDAYS[d.getDay()]}）` };
}

const totalOf = (b) => SERIES.reduce((sum, s) => sum + (Number(b[s.key]) || 0), 0);

/** A scale that ends on a round number with four steps. */
function niceMax(max) {
  if (max <= 4) return 4;
  const step = Math.ceil(max / 4);
  const magnitude = 10 ** Math.floor(Math.log10(step));
  const nice = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((v) => v >= step) || step;
  return Math.ceil(nice) * 4;
}

/**
 * `buckets`: `[{start, AA, AE, unknown, sandbox}]`, oldest first. `range`: '24h' (hourly) or '7d'
 * (daily). The bars carry their numbers in a <title> (hover) and the table under the chart says
 * the same for screen readers and for copying.
 */
export function OutcomeChart({ id, caption, buckets, range }) {
  const list = Array.isArray(buckets) ? buckets : [];
  const totals = list.map(totalOf);
  const top = niceMax(Math.max(0, ...totals));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const slot = list.length ? plotW / list.length : plotW;
  const barW = Math.max(2, Math.min(48, slot * 0.66));
  const y = (v) => M.top + plotH - (v / top) * plotH;
  const ticks = [0, 1, 2, 3, 4].map((i) => (top / 4) * i);
  const every = range === '24h' ? 3 : 1;
  const sums = Object.fromEntries(SERIES.map((s) => [s.key, list.reduce((n, b) => n + (Number(b[s.key]) || 0), 0)]));
  const summary = `${caption}：${SERIES.map((s) => `${s.label} ${sums[s.key]}`).join('，')}`;

  return html`<figure class="chart" id=${id} data-range=${range} data-buckets=${list.length}>
    <svg class="chart-svg" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${summary} preserveAspectRatio="xMidYMid meet">
      <g class="chart-grid" aria-hidden="true">
        ${ticks.map((t) => html`<g key=${t}>
          <line x1=${M.left} x2=${W - M.right} y1=${y(t)} y2=${y(t)} class=${t === 0 ? 'axis' : 'grid'} />
          <text x=${M.left - 6} y=${y(t) + 4} class="tick" text-anchor="end">${Math.round(t)}</text>
        </g>`)}
      </g>
      ${list.map((b, i) => {
        const x = M.left + slot * i + (slot - barW) / 2;
        const labels = bucketLabels(b.start, range);
        let acc = 0;
        return html`<g key=${b.start} class="bucket" data-start=${b.start} data-total=${totals[i]}>
          <title>${labels.long}：${SERIES.map((s) => `${s.label} ${Number(b[s.key]) || 0}`).join('，')}</title>
          <rect x=${M.left + slot * i} y=${M.top} width=${slot} height=${plotH} class="hover-band" />
          ${SERIES.map((s) => {
            const v = Number(b[s.key]) || 0;
            if (!v) return null;
            const y0 = y(acc);
            acc += v;
            const y1 = y(acc);
            return html`<rect key=${s.key} class=${`seg ${s.cls}`} x=${x} y=${y1} width=${barW} height=${Math.max(0.5, y0 - y1)} />`;
          })}
          ${i % every === 0 || i === list.length - 1
            ? html`<text class="tick" x=${M.left + slot * i + slot / 2} y=${H - 8} text-anchor="middle">${labels.axis}</text>`
            : null}
        </g>`;
      })}
      ${totals.every((t) => t === 0) ? html`<text class="chart-empty" x=${M.left + plotW / 2} y=${M.top + plotH / 2} text-anchor="middle">暂无消息</text>` : null}
    </svg>
    <figcaption class="chart-legend">
      ${SERIES.map((s) => html`<span key=${s.key}><i class=${`swatch ${s.cls}`} aria-hidden="true"></i>${s.label} ${sums[s.key]}</span>`)}
    </figcaption>
    <details class="chart-data">
      <summary>查看数据表</summary>
      <div class="table-wrap" tabindex="0" role="region" aria-label=${`${caption}数据表`}>
        <table class="table">
          <thead><tr><th scope="col">${range === '24h' ? '小时' : '日期'}</th>${SERIES.map((s) => html`<th scope="col">${s.label}</th>`)}<th scope="col">合计</th></tr></thead>
          <tbody>${list.map((b, i) => html`<tr key=${b.start}>
            <th scope="row">${bucketLabels(b.start, range).long}</th>${SERIES.map((s) => html`<td>${Number(b[s.key]) || 0}</td>`)}<td>${totals[i]}</td>
          </tr>`)}</tbody>
        </table>
      </div>
    </details>
  </figure>`;
}
