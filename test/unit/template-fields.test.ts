import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyType, limitOf, parseTemplateFields, shorten, templateData, templateUrl, type TemplateField } from '../../src/wechat/template-fields.js';
import type { Approval, ApprovalItem } from '../../src/types.js';

// Contract §10: WECHAT_TEMPLATE_FIELDS maps template keys to approval fields or literals, and each
// value is cut to what its key's type admits (WeChat answers 47003 instead of cutting).

function approval(overrides: Partial<Approval> = {}): Approval {
  return {
    guid: 'A1B2C3D4-0000-4000-8000-000000000001',
    senderId: 'HIP',
    receiverId: 'GCP',
    employeeNo: '00123',
    operator: '张三',
    billType: 'GCP经费报销',
    billNum: 'BX-2026-000001',
    approvalDate: '2026-01-02 10:30:00',
    approvalOpinion: '同意',
    items: [{ pi: '李四', cardNum: '6222020200112233445', projectName: '房颤研究' }],
    ...overrides,
  };
}

const item = (projectName: string): ApprovalItem => ({ pi: 'PI', cardNum: '1', projectName });
const chars = (s: string): number => Array.from(s).length;

describe('parseTemplateFields: the syntax', () => {
  it('reads key=field pairs, spaces around keys, "=", fields and commas ignored', () => {
    expect(parseTemplateFields(' thing1 = bill_type ,character_string2=bill_num,time3 =approval_date ')).toEqual([
      { key: 'thing1', source: 'approval', field: 'bill_type' },
      { key: 'character_string2', source: 'approval', field: 'bill_num' },
      { key: 'time3', source: 'approval', field: 'approval_date' },
    ]);
  });

  it('accepts every approval field of the contract', () => {
    const fields = ['employee_no', 'operator', 'bill_type', 'bill_num', 'approval_date', 'approval_opinion', 'project_name', 'PI', 'card_num', 'guid'];
    const parsed = parseTemplateFields(fields.map((f, i) => `keyword${i + 1}=${f}`).join(','));
    expect(parsed.map((p) => (p.source === 'approval' ? p.field : null))).toEqual(fields);
  });

  it('reads literals in double quotes, with commas, "=", backslashes and "" for a quote', () => {
    expect(parseTemplateFields('thing1="审批结果, 请查收",thing2="a=b",thing3="say ""hi""",thing4="",thing5="C:\\x"')).toEqual([
      { key: 'thing1', source: 'literal', value: '审批结果, 请查收' },
      { key: 'thing2', source: 'literal', value: 'a=b' },
      { key: 'thing3', source: 'literal', value: 'say "hi"' },
      { key: 'thing4', source: 'literal', value: '' },
      { key: 'thing5', source: 'literal', value: 'C:\\x' },
    ]);
  });

  it('keeps spaces inside a literal', () => {
    expect(parseTemplateFields('thing1=" a "')).toEqual([{ key: 'thing1', source: 'literal', value: ' a ' }]);
  });

  it('reads any literal written with "" back to itself', () => {
    const literal = fc.string({ unit: fc.constantFrom('a', '"', ',', '=', ' ', '审', '\\'), maxLength: 20 });
    fc.assert(
      fc.property(literal, literal, (a, b) => {
        const quote = (s: string): string => `"${s.replaceAll('"', '""')}"`;
        expect(parseTemplateFields(`keyword1=${quote(a)}, keyword2 = ${quote(b)},thing3=guid`)).toEqual([
          { key: 'keyword1', source: 'literal', value: a },
          { key: 'keyword2', source: 'literal', value: b },
          { key: 'thing3', source: 'approval', field: 'guid' },
        ]);
      }),
    );
  });
});

describe('parseTemplateFields: errors name the pair and what is wrong', () => {
  it.each([
    ['nothing', '', /no key=field pairs/],
    ['only spaces', '   ', /no key=field pairs/],
    ['an empty pair', 'thing1=bill_type,,thing2=bill_num', /pair 2 is empty/],
    ['a trailing comma', 'thing1=bill_type,', /pair 2 is empty/],
    ['no "="', 'thing1=bill_type,thing2', /pair 2 \(thing2\): no "="/],
    ['no key', '=bill_type', /pair 1 \(=bill_type\): no template key/],
    ['a key without digits', 'first=bill_type', /pair 1 \(first=bill_type\): "first" is not a template key/],
    ['a key with a dot', 'thing1.DATA=bill_type', /"thing1.DATA" is not a template key/],
    ['no field', 'thing1=bill_type,thing2=', /pair 2 \(thing2=\): no field after "="/],
    ['an unknown field', 'thing1=bill_type,thing2=bill_number', /pair 2 \(thing2=bill_number\): unknown field "bill_number"/],
    ['a field in the wrong case', 'thing1=pi', /unknown field "pi" \(did you mean PI\?/],
    ['the same key twice', 'thing1=bill_type,thing1=bill_num', /pair 2 \(thing1=bill_num\): key "thing1" is already mapped in pair 1/],
    ['an unclosed literal', 'thing1=bill_type,thing2="abc', /pair 2 \(thing2="abc\): the literal's opening " is never closed/],
    ['text after a literal', 'thing1="abc"def', /pair 1 .*unexpected text after the literal/],
    ['a lone quote inside a literal', 'thing1="a"b"c"', /pair 1 .*must be written ""/],
    ['a literal too long for its key', 'phrase1="审批已经通过"', /pair 1 .*6 characters, more than the 5 a phrase key allows/],
  ])('refuses %s', (_what, raw, message) => {
    expect(() => parseTemplateFields(raw)).toThrow(message);
  });

  it('shortens a long pair in the message', () => {
    const long = `thing1=${'x'.repeat(60)}`;
    let message = '';
    try {
      parseTemplateFields(long);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^pair 1 \(thing1=x{32}…\)/);
  });
});

describe('limits by key type', () => {
  it.each([
    ['thing1', 'thing', 20],
    ['thing12', 'thing', 20],
    ['character_string2', 'character_string', 32],
    ['phrase3', 'phrase', 5],
    ['time4', 'time', null],
    ['date5', 'date', null],
    ['amount6', 'amount', null],
    ['const7', 'const', null],
    ['keyword1', 'keyword', null],
  ])('%s is a %s key with limit %s', (key, type, limit) => {
    expect(keyType(key)).toBe(type);
    expect(limitOf(key)).toBe(limit);
  });

  it('shorten cuts to the limit in code points, ending in …, and leaves what fits alone', () => {
    expect(shorten('12345', 5)).toBe('12345');
    expect(shorten('123456', 5)).toBe('1234…');
    expect(shorten('😀😀😀😀😀😀', 5)).toBe('😀😀😀😀…');
    expect(shorten('x'.repeat(100), null)).toBe('x'.repeat(100));
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 60 }), fc.integer({ min: 1, max: 40 }), (value, limit) => {
        const cut = shorten(value, limit);
        expect(chars(cut)).toBeLessThanOrEqual(limit);
        if (chars(value) <= limit) expect(cut).toBe(value);
        else expect(cut).toBe(`${Array.from(value).slice(0, limit - 1).join('')}…`);
      }),
    );
  });
});

describe('templateData', () => {
  const fields = (raw: string): TemplateField[] => parseTemplateFields(raw);

  it('maps every key to its approval field or literal', () => {
    const data = templateData(
      fields('keyword1=employee_no,keyword2=operator,keyword3=bill_type,keyword4=bill_num,keyword5=approval_date,keyword6=approval_opinion,keyword7=project_name,keyword8=PI,keyword9=card_num,keyword10=guid,keyword11="固定"'),
      approval(),
    );
    expect(data).toEqual({
      keyword1: { value: '00123' },
      keyword2: { value: '张三' },
      keyword3: { value: 'GCP经费报销' },
      keyword4: { value: 'BX-2026-000001' },
      keyword5: { value: '2026-01-02 10:30:00' },
      keyword6: { value: '同意' },
      keyword7: { value: '房颤研究' },
      keyword8: { value: '李四' },
      keyword9: { value: '6222020200112233445' },
      keyword10: { value: 'A1B2C3D4-0000-4000-8000-000000000001' },
      keyword11: { value: '固定' },
    });
  });

  it('shortens per key type: thing 20, character_string 32, phrase 5; time unchanged', () => {
    const long = approval({
      billType: '国家重点研发计划临床试验项目经费报销审批单据类型',
      billNum: 'BX-2026-0000000000000000000000000000000001',
      approvalOpinion: '同意，请尽快办理',
      approvalDate: '2026年01月02日 星期五 10时30分00秒 北京时间（东八区）',
    });
    const data = templateData(fields('thing1=bill_type,character_string2=bill_num,phrase3=approval_opinion,time4=approval_date'), long);
    expect(data.thing1!.value).toBe(`${Array.from(long.billType).slice(0, 19).join('')}…`);
    expect(chars(data.thing1!.value)).toBe(20);
    expect(data.character_string2!.value).toBe(`${long.billNum.slice(0, 31)}…`);
    expect(chars(data.character_string2!.value)).toBe(32);
    expect(data.phrase3!.value).toBe('同意，请…');
    expect(data.time4!.value).toBe(long.approvalDate);
  });

  it('leaves values at exactly the limit alone', () => {
    const data = templateData(fields('thing1=bill_type,phrase2=approval_opinion'), approval({ billType: '一'.repeat(20), approvalOpinion: '同意同意同' }));
    expect(data).toEqual({ thing1: { value: '一'.repeat(20) }, phrase2: { value: '同意同意同' } });
  });

  it('project_name adds " 等N项" when the approval has N > 1 items, and nothing for one or none', () => {
    const f = fields('thing1=project_name,keyword2=project_name');
    expect(templateData(f, approval({ items: [item('房颤研究'), item('二'), item('三')] }))).toEqual({
      thing1: { value: '房颤研究 等3项' },
      keyword2: { value: '房颤研究 等3项' },
    });
    expect(templateData(f, approval({ items: [item('房颤研究'), item('二')] })).thing1!.value).toBe('房颤研究 等2项');
    expect(templateData(f, approval({ items: [item('房颤研究')] })).thing1!.value).toBe('房颤研究');
    expect(templateData(f, approval({ items: [] })).thing1!.value).toBe('');
    // PI and card number come from the first item too, and are empty without one.
    expect(templateData(fields('thing1=PI,character_string2=card_num'), approval({ items: [] }))).toEqual({ thing1: { value: '' }, character_string2: { value: '' } });
  });

  it('a long project name is shortened before " 等N项", which is kept', () => {
    const name = '心房颤动患者射频消融术后抗凝治疗多中心随机对照研究';
    const data = templateData(fields('thing1=project_name,keyword2=project_name'), approval({ items: [item(name), item('二'), item('三'), item('四'), item('五'), item('六'), item('七'), item('八'), item('九'), item('十'), item('十一'), item('十二')] }));
    expect(data.thing1!.value).toBe(`${Array.from(name).slice(0, 14).join('')}… 等12项`);
    expect(chars(data.thing1!.value)).toBe(20);
    // Without a limit nothing is cut.
    expect(data.keyword2!.value).toBe(`${name} 等12项`);
  });

  it('never exceeds a key’s limit, and keeps " 等N项" whenever the limit leaves room for it', () => {
    const limited = ['thing', 'character_string', 'phrase', 'name', 'symbol', 'car_number'];
    fc.assert(
      fc.property(
        fc.constantFrom(...limited),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.integer({ min: 0, max: 120 }),
        (type, name, extra) => {
          const items = [item(name), ...Array.from({ length: extra }, () => item('x'))];
          const key = `${type}1`;
          const value = templateData(fields(`${key}=project_name`), approval({ items }))[key]!.value;
          const limit = limitOf(key)!;
          expect(chars(value)).toBeLessThanOrEqual(limit);
          const suffix = ` 等${items.length}项`;
          if (items.length > 1 && name.trim() === name && name !== '' && limit - chars(suffix) >= 2) expect(value.endsWith(suffix)).toBe(true);
        },
      ),
    );
  });

  it('sends literals as written (parseTemplateFields already refused one too long for its key)', () => {
    const data = templateData(fields('thing1="审批结果通知",phrase2="已通过"'), approval());
    expect(data).toEqual({ thing1: { value: '审批结果通知' }, phrase2: { value: '已通过' } });
  });
});

describe('templateUrl (WECHAT_TEMPLATE_URL)', () => {
  it('replaces every {guid}, URL-encoded', () => {
    expect(templateUrl('https://erp.example/approval/{guid}?from=wx&id={guid}', 'A1B2-C3')).toBe('https://erp.example/approval/A1B2-C3?from=wx&id=A1B2-C3');
    expect(templateUrl('https://erp.example/a?id={guid}', 'a b&c/d')).toBe('https://erp.example/a?id=a%20b%26c%2Fd');
  });

  it('leaves a URL without {guid} as it is', () => {
    expect(templateUrl('https://erp.example/inbox', 'G')).toBe('https://erp.example/inbox');
  });

  it('is undefined when there is no link', () => {
    expect(templateUrl(null, 'G')).toBeUndefined();
    expect(templateUrl('', 'G')).toBeUndefined();
    expect(templateUrl('   ', 'G')).toBeUndefined();
  });
});
