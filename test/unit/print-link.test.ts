import { describe, expect, it } from 'vitest';
import { PRINT_LINK_TTL_S, printLink, verifyPrintLink } from '../../src/admin/print-link.js';
import { slipsPage } from '../../src/binding/slips.js';

const tokens = [{ actor: 'ops', token: 'token-aaaaaaaa' }];
const NOW = Date.UTC(2026, 10, 23, 4, 0, 0);

function queryOf(link: string): Record<string, unknown> {
  const params = new URL(link, 'http://x').searchParams;
  const e = params.getAll('e');
  return { e: e.length === 1 ? e[0] : e, expires: params.get('expires'), sig: params.get('sig') };
}

describe('print links', () => {
  it('name the employees (commas and all) and hold for 5 minutes', () => {
    const link = printLink(tokens, ['A,1', 'B2'], NOW);
    expect(verifyPrintLink(tokens, queryOf(link), NOW)).toEqual(['A,1', 'B2']);
    expect(verifyPrintLink(tokens, queryOf(link), NOW + (PRINT_LINK_TTL_S - 1) * 1000)).toEqual(['A,1', 'B2']);
    expect(verifyPrintLink(tokens, queryOf(link), NOW + (PRINT_LINK_TTL_S + 1) * 1000)).toBeNull();
  });

  it('are worthless when changed, or under another admin token', () => {
    const query = queryOf(printLink(tokens, ['A1'], NOW));
    expect(verifyPrintLink(tokens, { ...query, e: 'A2' }, NOW)).toBeNull();
    expect(verifyPrintLink(tokens, { ...query, e: ['A1', 'A2'] }, NOW)).toBeNull();
    expect(verifyPrintLink(tokens, { ...query, expires: String(Number(query.expires) + 600) }, NOW)).toBeNull();
    expect(verifyPrintLink([{ actor: 'ops', token: 'token-bbbbbbbb' }], query, NOW)).toBeNull();
    expect(verifyPrintLink(tokens, { ...query, sig: undefined }, NOW)).toBeNull();
  });
});

describe('slips', () => {
  it('escape every text and keep the QR inline', () => {
    const html = slipsPage([{ employeeNo: '<b>1', name: '"><script>x</script>', code: 'AB23CD45', expiresAt: new Date(NOW), svg: '<svg viewBox="0 0 1 1"></svg>' }], ['9&9']);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;b&gt;1');
    expect(html).toContain('<svg viewBox="0 0 1 1"></svg>');
    expect(html).toContain('绑定 AB23CD45');
    expect(html).toContain('2026/11/23 12:00');
    expect(html).toContain('9&amp;9');
  });
});
