import he from 'he';

// The printable invitation slips (contract §9): one self-contained A4 page, eight slips a sheet,
// each with the employee, the QR code (inline SVG: no internet, no image host), the code and its
// expiry, and one line saying what to do. Pure; every text is escaped.

export interface Slip {
  employeeNo: string;
  name: string;
  code: string;
  expiresAt: Date;
  /** The QR image; null in sandbox mode (the code alone binds). */
  svg: string | null;
}

/** Hospitals using this are in China; a slip's expiry is read there. */
const EXPIRY = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });

const esc = (text: string): string => he.escape(text);

function slipHtml(slip: Slip): string {
  const qr = slip.svg === null ? `<div class="no-qr">沙箱模式：无二维码<br>请用绑定码</div>` : `<div class="qr">${slip.svg}</div>`;
  return `<section class="slip">
  <h2>审批通知 · 微信绑定</h2>
  <p class="who"><span class="name">${esc(slip.name || '（未填姓名）')}</span> <span class="no">工号 ${esc(slip.employeeNo)}</span></p>
  ${qr}
  <p class="code">绑定码 <strong>${esc(slip.code)}</strong></p>
  <p class="how">用微信扫描二维码并关注公众号即完成绑定；或在公众号中发送：绑定 ${esc(slip.code)}</p>
  <p class="expires">有效期至 ${esc(EXPIRY.format(slip.expiresAt))}，仅限本人使用一次</p>
</section>`;
}

export function slipsPage(slips: Slip[], missing: string[]): string {
  const note =
    missing.length === 0
      ? ''
      : `<p class="missing">以下工号没有有效的绑定码（已绑定、已过期或未生成），未打印：${esc(missing.join('、'))}</p>`;
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>绑定码打印（${slips.length} 张）</title>
<link rel="stylesheet" href="/admin/print.css">
</head>
<body>
<header class="screen-only"><h1>绑定码打印</h1><p>共 ${slips.length} 张，每页 8 张。按 Ctrl+P（或 ⌘P）打印，纸张 A4。</p>${note}</header>
<main class="sheet">
${slips.map(slipHtml).join('\n')}
</main>
</body>
</html>`;
}
