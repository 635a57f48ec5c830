import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { encrypt, parseAesKeys } from '../../src/callback/crypto.js';
import {
  BIND_CODE_ALPHABET,
  BIND_CODE_LENGTH,
  cdata,
  dedupeKey,
  encryptedReply,
  isBindCode,
  normaliseStatus,
  parseBindCommand,
  readCallback,
  readEncryptedEnvelope,
  textReply,
  type CallbackMessage,
} from '../../src/callback/message.js';
import { decryptReply, elementText, eventXml, readReply, textXml } from '../support/wechat-callback.js';

// What WeChat posts to /wechat/callback (contract §8) and what goes back; the binding commands of
// contract §9. The XML of messages comes from the test player (test/support/wechat-callback.ts)
// or is written out here as WeChat's documentation shows it.

const OPENID = 'oUser00000000000000000001';
const ACCOUNT = 'gh_fakeaccount01';

function must(xml: string): CallbackMessage {
  const m = readCallback(xml);
  if (m === null) throw new Error(`not read: ${xml}`);
  return m;
}

describe('readCallback: text', () => {
  it('reads a text message as WeChat documents it', () => {
    const xml =
      '<xml><ToUserName><![CDATA[gh_fakeaccount01]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName>' +
      '<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content>' +
      '<MsgId>1234567890123456</MsgId></xml>';
    expect(readCallback(xml)).toEqual({
      type: 'text',
      toUserName: 'gh_fakeaccount01',
      fromUserName: 'oUser1',
      createTime: '1348831860',
      content: 'this is a test',
      msgId: '1234567890123456',
    });
  });

  it('keeps CDATA content verbatim (spaces, &amp;, markup) and decodes entities in plain text', () => {
    expect(must(textXml(OPENID, '  a &amp; <b>  '))).toMatchObject({ content: '  a &amp; <b>  ' });
    const plain = `<xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>a &amp; &lt;b&gt; &#x7EDD;</Content><MsgId>9</MsgId></xml>`;
    expect(must(plain)).toMatchObject({ content: 'a & <b> 绝' });
  });

  it('joins a CDATA section split around "]]>"', () => {
    expect(must(textXml(OPENID, 'x]]>y]]>z'))).toMatchObject({ content: 'x]]>y]]>z' });
  });

  it('reads an empty content as "" and a missing MsgId as ""', () => {
    const xml = `<xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content></Content></xml>`;
    expect(must(xml)).toMatchObject({ type: 'text', content: '', msgId: '' });
  });

  it('keeps a MsgId above 2^53 exactly', () => {
    expect(must(textXml(OPENID, 'hi', { msgId: '9007199254740993123' }))).toMatchObject({ msgId: '9007199254740993123' });
  });

  it('reads any text the player sends back exactly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (content) => {
        expect(must(textXml(OPENID, content, { msgId: '1', createTime: 2 }))).toMatchObject({ type: 'text', content, msgId: '1', createTime: '2' });
      }),
    );
  });
});

describe('readCallback: events', () => {
  it('subscribe after scanning a QR code: the scene without qrscene_, and the ticket', () => {
    const m = must(eventXml(OPENID, 'subscribe', { EventKey: 'qrscene_inv7f3a9c2d1e0b4a5c', Ticket: 'gQTICKET' }, { createTime: 1700000000 }));
    expect(m).toEqual({
      type: 'event',
      toUserName: ACCOUNT,
      fromUserName: OPENID,
      createTime: '1700000000',
      event: 'subscribe',
      eventKey: 'qrscene_inv7f3a9c2d1e0b4a5c',
      scene: 'inv7f3a9c2d1e0b4a5c',
      ticket: 'gQTICKET',
    });
  });

  it('a plain subscribe (no QR code) has no scene, and neither has one with an empty qrscene_', () => {
    const plain = must(eventXml(OPENID, 'subscribe'));
    expect(plain).toMatchObject({ type: 'event', event: 'subscribe', eventKey: '' });
    expect(plain).not.toHaveProperty('scene');
    expect(must(eventXml(OPENID, 'subscribe', { EventKey: 'qrscene_' }))).not.toHaveProperty('scene');
    // A subscribe's key without the prefix is not a scene either (a menu or something else).
    expect(must(eventXml(OPENID, 'subscribe', { EventKey: 'inv123' }))).not.toHaveProperty('scene');
  });

  it('SCAN by a follower: the EventKey is the scene as it is', () => {
    expect(must(eventXml(OPENID, 'SCAN', { EventKey: 'inv7f3a9c2d1e0b4a5c', Ticket: 'gQ1' }))).toMatchObject({
      event: 'SCAN',
      scene: 'inv7f3a9c2d1e0b4a5c',
      ticket: 'gQ1',
    });
    // A scene that happens to start with qrscene_ keeps it on SCAN.
    expect(must(eventXml(OPENID, 'SCAN', { EventKey: 'qrscene_x' }))).toMatchObject({ scene: 'qrscene_x' });
    expect(must(eventXml(OPENID, 'SCAN', { EventKey: '' }))).not.toHaveProperty('scene');
  });

  it('unsubscribe carries no scene, whatever its EventKey', () => {
    const m = must(eventXml(OPENID, 'unsubscribe', { EventKey: 'qrscene_abc' }));
    expect(m).toMatchObject({ type: 'event', event: 'unsubscribe' });
    expect(m).not.toHaveProperty('scene');
  });

  it('TEMPLATESENDJOBFINISH: MsgID above 2^53 kept exactly, as text', () => {
    const msgId = '3147483651234567890';
    expect(Number(msgId).toString()).not.toBe(msgId);
    const m = must(eventXml(OPENID, 'TEMPLATESENDJOBFINISH', { MsgID: msgId, Status: 'success' }));
    expect(m).toMatchObject({ type: 'event', event: 'TEMPLATESENDJOBFINISH', msgId, status: 'success' });
  });

  it.each([
    ['failed: system failed', 'failed:system failed'],
    ['failed:system failed', 'failed:system failed'],
    ['failed:user block', 'failed:user block'],
    ['failed: user block', 'failed:user block'],
    [' Failed : user block ', 'failed:user block'],
    ['success', 'success'],
  ])('TEMPLATESENDJOBFINISH Status %j reads as %j', (status, expected) => {
    expect(must(eventXml(OPENID, 'TEMPLATESENDJOBFINISH', { MsgID: '1', Status: status }))).toMatchObject({ status: expected });
    expect(normaliseStatus(status)).toBe(expected);
  });

  it('reads an event’s MsgId (lower-case d) when MsgID is absent, and prefers MsgID', () => {
    expect(must(eventXml(OPENID, 'TEMPLATESENDJOBFINISH', { MsgId: '77', Status: 'success' }))).toMatchObject({ msgId: '77' });
    expect(must(eventXml(OPENID, 'TEMPLATESENDJOBFINISH', { MsgId: '77', MsgID: '88', Status: 'success' }))).toMatchObject({ msgId: '88' });
  });

  it('sets optional fields only when WeChat sent them', () => {
    const m = must(eventXml(OPENID, 'CLICK', { EventKey: 'menu1' }));
    expect(m).toMatchObject({ event: 'CLICK', eventKey: 'menu1' });
    expect(Object.keys(m).sort()).toEqual(['createTime', 'event', 'eventKey', 'fromUserName', 'toUserName', 'type']);
  });
});

describe('readCallback: other messages and what is not a message', () => {
  it('reads an image as another message with its MsgId', () => {
    const xml = `<xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>5</CreateTime><MsgType>image</MsgType><PicUrl>http://x/y</PicUrl><MsgId>42</MsgId></xml>`;
    expect(readCallback(xml)).toEqual({ type: 'other', toUserName: 'gh', fromUserName: OPENID, createTime: '5', msgType: 'image', msgId: '42' });
  });

  it.each([
    ['the empty string', ''],
    ['not XML', 'success'],
    ['broken XML', `<xml><FromUserName>${OPENID}</FromUserName><MsgType>text`],
    ['another root', `<msg><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></msg>`],
    ['two roots', `<xml/><xml/>`],
    ['no FromUserName', `<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>解绑</Content></xml>`],
    ['an empty FromUserName', `<xml><ToUserName>gh</ToUserName><FromUserName></FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>`],
    ['no ToUserName', `<xml><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>`],
    ['no CreateTime', `<xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><MsgType>text</MsgType></xml>`],
    ['no MsgType', `<xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime></xml>`],
    ['an event without Event', `<xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>`],
    ['a FromUserName holding elements', `<xml><ToUserName>gh</ToUserName><FromUserName><a>1</a></FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>`],
    [
      'a DOCTYPE with an entity',
      `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x "绑定 AAAA2222">]><xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>`,
    ],
    ['an external entity', `<!DOCTYPE xml SYSTEM "http://example.com/x.dtd"><xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>`],
    ['an ENTITY declaration without DOCTYPE', `<xml><!ENTITY x "y"><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>`],
    ['a forbidden character reference', `<xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&#1;</Content></xml>`],
  ])('refuses %s (null)', (_what, xml) => {
    expect(readCallback(xml)).toBeNull();
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('<xml>', '<![CDATA[', '<!DOCTYPE', '&#0;').chain((p) => fc.string().map((s) => p + s))), (text) => {
        expect(() => readCallback(text)).not.toThrow();
      }),
    );
    expect(readCallback(undefined as unknown as string)).toBeNull();
  });
});

describe('dedupeKey (contract §8: what makes a retry the same callback)', () => {
  const text = (msgId: string, createTime = 1700000000, openid = OPENID, content = 'hi'): CallbackMessage => must(textXml(openid, content, { msgId, createTime }));
  const event = (name: string, createTime: number, openid = OPENID, fields: Record<string, string> = {}): CallbackMessage => must(eventXml(openid, name, fields, { createTime }));

  it('a message is the same message by its MsgId alone', () => {
    expect(dedupeKey(text('123'))).toBe(dedupeKey(text('123', 1700000099, OPENID, 'other')));
    expect(dedupeKey(text('123'))).not.toBe(dedupeKey(text('124')));
    expect(dedupeKey(text('9007199254740993'))).not.toBe(dedupeKey(text('9007199254740992')));
  });

  it('an event is the same event by FromUserName + CreateTime + Event', () => {
    const base = dedupeKey(event('subscribe', 1700000000));
    expect(dedupeKey(event('subscribe', 1700000000, OPENID, { EventKey: 'qrscene_x' }))).toBe(base);
    expect(dedupeKey(event('unsubscribe', 1700000000))).not.toBe(base);
    expect(dedupeKey(event('subscribe', 1700000001))).not.toBe(base);
    expect(dedupeKey(event('subscribe', 1700000000, `${OPENID}2`))).not.toBe(base);
  });

  it('an event’s MsgID (a template report) does not make it a message: reports are keyed as events', () => {
    const report = event('TEMPLATESENDJOBFINISH', 1700000000, OPENID, { MsgID: '123', Status: 'success' });
    expect(dedupeKey(report)).not.toBe(dedupeKey(text('123')));
    expect(dedupeKey(report)).toBe(dedupeKey(event('TEMPLATESENDJOBFINISH', 1700000000, OPENID, { MsgID: '456', Status: 'success' })));
  });

  it('a message without MsgId falls back to sender + time + type, so its retries are still one', () => {
    const xml = `<xml><ToUserName>gh</ToUserName><FromUserName>${OPENID}</FromUserName><CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>`;
    expect(dedupeKey(must(xml))).toBe(dedupeKey(must(xml)));
    expect(dedupeKey(must(xml))).not.toBe(dedupeKey(must(xml.replace('1700000000', '1700000001'))));
    expect(dedupeKey(must(xml))).not.toBe(dedupeKey(event('text', 1700000000)));
  });

  it('never gives two different (sender, time, event) triples the same key', () => {
    const event3 = (f: string, t: string, e: string): CallbackMessage => ({ type: 'event', toUserName: 'gh', fromUserName: f, createTime: t, event: e, eventKey: '' });
    // Joined without quoting, these would all read "oab17subscribe".
    const keys = [event3('oab', '17', 'subscribe'), event3('oa', 'b17', 'subscribe'), event3('oab1', '7', 'subscribe'), event3('oab17', '', 'subscribe'), event3('o', 'ab17sub', 'scribe')].map(dedupeKey);
    expect(new Set(keys).size).toBe(keys.length);
    const part = fc.string({ unit: fc.constantFrom('a', '"', ',', '\\', ':', '[', ']'), minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(part, part, part, part, part, part, (f1, t1, e1, f2, t2, e2) => {
        const key = (f: string, t: string, e: string): string =>
          dedupeKey({ type: 'event', toUserName: 'gh', fromUserName: f, createTime: t, event: e, eventKey: '' });
        if (f1 !== f2 || t1 !== t2 || e1 !== e2) expect(key(f1, t1, e1)).not.toBe(key(f2, t2, e2));
        else expect(key(f1, t1, e1)).toBe(key(f2, t2, e2));
      }),
    );
  });
});

describe('readEncryptedEnvelope (safe mode)', () => {
  it('reads Encrypt verbatim and ToUserName', () => {
    const encryptValue = 'AbC+/0123==';
    expect(readEncryptedEnvelope(`<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[${encryptValue}]]></Encrypt></xml>`)).toEqual({
      encrypt: encryptValue,
      toUserName: 'gh_x',
    });
    expect(readEncryptedEnvelope(`<xml><Encrypt>${encryptValue}</Encrypt></xml>`)).toEqual({ encrypt: encryptValue });
  });

  it.each([
    ['no Encrypt', '<xml><ToUserName>gh</ToUserName></xml>'],
    ['an empty Encrypt', '<xml><Encrypt><![CDATA[]]></Encrypt></xml>'],
    ['broken XML', '<xml><Encrypt>abc'],
    ['a DOCTYPE', '<!DOCTYPE xml [<!ENTITY e "abc">]><xml><Encrypt>&e;</Encrypt></xml>'],
  ])('refuses %s', (_what, xml) => {
    expect(readEncryptedEnvelope(xml)).toBeNull();
  });
});

describe('textReply and encryptedReply (what goes back)', () => {
  const now = new Date('2026-01-02T03:04:05.678Z');

  it('is the passive text reply: to the user, from the account, in whole seconds', () => {
    const xml = textReply(OPENID, ACCOUNT, '绑定成功', now);
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(elementText(xml, 'CreateTime')).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(readReply(xml)).toEqual({ toUserName: OPENID, fromUserName: ACCOUNT, msgType: 'text', content: '绑定成功' });
    expect(xml.startsWith('<xml><ToUserName>')).toBe(true);
  });

  it('keeps "]]>", markup and entities in the content exactly, and stays well-formed', () => {
    const content = 'a]]>b <c> &amp; ]]]]> ]]';
    const xml = textReply(OPENID, ACCOUNT, content, now);
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(readReply(xml).content).toBe(content);
    expect(must(xml)).toMatchObject({ type: 'text', content });
  });

  it('replaces what XML cannot hold with U+FFFD rather than breaking the reply', () => {
    const xml = textReply(OPENID, ACCOUNT, 'a\u0000b\u0008c\uFFFEd\uD800e', now);
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(readReply(xml).content).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe');
  });

  it('carries any text to the user and back, as both readers see it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ unit: fc.constantFrom('a', ']', '>', '<', '&', '[', 'C'), maxLength: 20 }), (a, b) => {
        const content = a + b;
        const xml = textReply(OPENID, ACCOUNT, content, now);
        expect(XMLValidator.validate(xml)).toBe(true);
        expect(readReply(xml).content).toBe(content);
        expect(must(xml)).toMatchObject({ content });
      }),
    );
  });

  it('cdata splits "]]>" so no section ends early', () => {
    expect(cdata('x]]>y')).toBe('<![CDATA[x]]]]><![CDATA[>y]]>');
    expect(cdata('')).toBe('<![CDATA[]]>');
  });

  it('encryptedReply: the player verifies its MsgSignature and reads the reply; a wrong token or AppID is caught', () => {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    const appId = 'wx1234567890abcdef';
    const inner = textReply(OPENID, ACCOUNT, '已解绑', now);
    const body = encryptedReply(encrypt(inner, parseAesKeys(key)[0]!, appId), 'cbToken', '1767323045', 'n0nce<&>');
    expect(XMLValidator.validate(body)).toBe(true);
    expect(elementText(body, 'TimeStamp')).toBe('1767323045');
    expect(elementText(body, 'Nonce')).toBe('n0nce<&>');
    expect(decryptReply(body, { token: 'cbToken', appId, aesKey: key })).toBe(inner);
    expect(() => decryptReply(body, { token: 'cbToken2', appId, aesKey: key })).toThrow(/MsgSignature/);
    expect(() => decryptReply(body, { token: 'cbToken', appId: 'wx0000000000000000', aesKey: key })).toThrow(/AppID/);
  });
});

describe('parseBindCommand (contract §9)', () => {
  it.each([
    ['绑定 ABCD2345', 'ABCD2345'],
    ['绑定ABCD2345', 'ABCD2345'],
    ['绑定\u3000ABCD2345', 'ABCD2345'],
    ['绑定 abcd2345', 'ABCD2345'],
    ['绑定 ＡＢＣＤ２３４５', 'ABCD2345'],
    ['绑定　ａｂｃｄ２３４５', 'ABCD2345'],
    ['  绑定   ABCD2345  ', 'ABCD2345'],
    ['绑定\tABCD2345\n', 'ABCD2345'],
    ['绑定：ABCD2345', 'ABCD2345'],
    ['绑定: ABCD2345', 'ABCD2345'],
  ])('%j binds with code %s', (text, code) => {
    expect(parseBindCommand(text)).toEqual({ kind: 'bind', code, wellFormed: true });
  });

  it.each([
    ['too short', '绑定 ABC234', 'ABC234'],
    ['too long', '绑定 ABCD23456', 'ABCD23456'],
    ['letters left out of the alphabet (O, I, L, 0, 1)', '绑定 ABCD01OI', 'ABCD01OI'],
    ['a space inside', '绑定 ABCD 2345', 'ABCD 2345'],
  ])('a code that is %s is a bind attempt, not well formed', (_what, text, code) => {
    expect(parseBindCommand(text)).toEqual({ kind: 'bind', code, wellFormed: false });
  });

  it.each(['解绑', ' 解绑 ', '解绑\u3000'])('%j unbinds', (text) => {
    expect(parseBindCommand(text)).toEqual({ kind: 'unbind' });
  });

  it.each(['', '你好', '绑定', '绑定   ', '请帮我绑定 ABCD2345', '解绑 ABCD2345', '解除绑定', 'ABCD2345', 'bind ABCD2345'])('%j is no command (null)', (text) => {
    expect(parseBindCommand(text)).toBeNull();
  });

  it('takes any invitation code in any letter case and any width', () => {
    const code = fc.array(fc.constantFrom(...BIND_CODE_ALPHABET), { minLength: BIND_CODE_LENGTH, maxLength: BIND_CODE_LENGTH }).map((cs) => cs.join(''));
    const fullWidth = (s: string): string => [...s].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');
    fc.assert(
      fc.property(code, fc.constantFrom('', ' ', '\u3000', '  '), fc.constantFrom('upper', 'lower', 'full', 'full-lower'), (c, sep, form) => {
        const typed = form === 'upper' ? c : form === 'lower' ? c.toLowerCase() : form === 'full' ? fullWidth(c) : fullWidth(c.toLowerCase());
        expect(parseBindCommand(`绑定${sep}${typed}`)).toEqual({ kind: 'bind', code: c, wellFormed: true });
      }),
    );
  });

  it('the alphabet leaves out the characters people misread, and isBindCode follows it', () => {
    expect(BIND_CODE_ALPHABET).toBe('23456789ABCDEFGHJKMNPQRSTUVWXYZ');
    for (const c of '01ILOilo') expect(BIND_CODE_ALPHABET.includes(c)).toBe(false);
    expect(isBindCode('ABCD2345')).toBe(true);
    expect(isBindCode('abcd2345')).toBe(false);
    expect(isBindCode('ABCD234')).toBe(false);
  });
});
