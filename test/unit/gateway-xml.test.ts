import { describe, expect, it } from 'vitest';
import {
  buildFlatXml, buildXml, decodeXmlText, leafFields, parseFlatXml, parseXmlDocument,
} from '../../src/payments/providers/oceanpayment/xml.ts';
import type { XmlElement } from '../../src/payments/providers/oceanpayment/xml.ts';

const SEED_002_NOTICE = `<?xml version="1.0" encoding="UTF-8"?>
<response>
<notice_type>transaction</notice_type>
<push_dateTime>2025-09-03 10:21:14</push_dateTime>
<account>995149</account>
<terminal>99514901</terminal>
<signValue>924347D8E9C9BAC2EC91449C70540FF49E0DD5711F03E8A871DCA34CED023AB6</signValue>
<order_number>000123</order_number>
<order_amount>0.10</order_amount>
<order_notes></order_notes>
<payment_status>-1</payment_status>
<payment_details>80093:3D Authorized Service not completed</payment_details>
<payment_risk/>
</response>`;

describe('parseFlatXml', () => {
  it('keeps every value a string exactly as sent: no number, boolean or empty coercion', () => {
    const parsed = parseFlatXml(SEED_002_NOTICE, { roots: ['response'] });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.root).toBe('response');
    expect(parsed.value.fields).toMatchObject({
      order_number: '000123',
      order_amount: '0.10',
      payment_status: '-1',
      account: '995149',
      order_notes: '',
      payment_risk: '',
      push_dateTime: '2025-09-03 10:21:14',
    });
  });

  it('decodes the predefined entities once, and no others', () => {
    const parsed = parseFlatXml('<response><a>Tom &amp; Jerry &lt;3&gt; &quot;q&quot; &apos;s&apos;</a><b>&amp;lt;</b><c>&#233;&#x4E2D;</c><d>&nbsp;</d><e><![CDATA[&amp; <raw>]]></e></response>', { roots: ['response'] });
    expect(parsed).toMatchObject({ ok: true, value: { fields: { a: 'Tom & Jerry <3> "q" \'s\'', b: '&lt;', c: 'é中', d: '&nbsp;', e: '&amp; <raw>' } } });
  });

  it('refuses an entity-expansion ("billion laughs") document without expanding or crashing', () => {
    const lol = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<response><order_notes>&lol9;</order_notes></response>`;
    const parsed = parseFlatXml(lol, { roots: ['response'] });
    expect(parsed).toEqual({ ok: false, problem: expect.stringMatching(/DOCTYPE or ENTITY declaration is refused/) });
  });

  it('refuses an external entity without reading anything', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><response><a>&xxe;</a></response>';
    expect(parseFlatXml(xxe, { roots: ['response'] })).toMatchObject({ ok: false, problem: expect.stringMatching(/DOCTYPE/) });
  });

  it('leaves an undeclared entity reference as literal text', () => {
    expect(parseFlatXml('<response><a>&xxe;</a></response>', { roots: ['response'] })).toMatchObject({ ok: true, value: { fields: { a: '&xxe;' } } });
  });

  it.each([
    ['truncated mid-element', SEED_002_NOTICE.slice(0, SEED_002_NOTICE.length / 2), /not well-formed XML/],
    ['missing its closing root tag', '<response><a>1</a>', /not well-formed XML.*Unclosed tag 'response'/],
    ['not XML at all', '<html><body>502 Bad Gateway</body>', /not well-formed/],
    ['plain text', 'receive-ok', /root element|not well-formed/],
    ['empty', '', /body is empty/],
    ['two roots', '<response></response><response></response>', /not well-formed|root/],
  ])('reports a body %s clearly', (_name, body, problem) => {
    const parsed = parseFlatXml(body, { roots: ['response'] });
    expect(parsed).toMatchObject({ ok: false, problem: expect.stringMatching(problem) });
  });

  it('refuses a 10 MB body by size, before parsing it', () => {
    // Malformed past the limit: were it parsed first, the answer would name the broken element.
    const huge = `<response><order_notes>${'x'.repeat(10 * 1024 * 1024)}</wrong></response>`;
    const parsed = parseFlatXml(huge, { roots: ['response'] });
    expect(parsed).toMatchObject({ ok: false, problem: expect.stringMatching(/^XML body is 10485\d+ bytes, more than the 65536-byte limit/) });
  });

  it('accepts a custom size limit and counts bytes, not characters', () => {
    expect(parseFlatXml('<response><a>é</a></response>', { roots: ['response'], maxBytes: 29 })).toMatchObject({ ok: false });
    expect(parseFlatXml('<response><a>é</a></response>', { roots: ['response'], maxBytes: 30 })).toMatchObject({ ok: true });
  });

  it('names the wrong root element', () => {
    expect(parseFlatXml('<respon><a>1</a></respon>', { roots: ['response'] })).toMatchObject({
      ok: false, problem: 'root element is <respon>, expected <response>',
    });
    expect(parseFlatXml('<respon><a>1</a></respon>', { roots: ['response', 'respon'] })).toMatchObject({ ok: true });
  });

  it('names every missing required field', () => {
    const parsed = parseFlatXml('<response><account>995149</account></response>', {
      roots: ['response'], required: ['account', 'terminal', 'signValue', 'payment_status'],
    });
    expect(parsed).toEqual({ ok: false, problem: '<response> is missing required fields: terminal, signValue, payment_status' });
  });

  it('refuses a message that repeats a field', () => {
    const parsed = parseFlatXml('<response><payment_status>0</payment_status><payment_status>1</payment_status></response>', { roots: ['response'] });
    expect(parsed).toEqual({ ok: false, problem: 'element <payment_status> appears 2 times' });
  });

  it('refuses element names that would reach Object.prototype, without throwing', () => {
    expect(parseFlatXml('<response><__proto__>x</__proto__></response>', { roots: ['response'] })).toMatchObject({ ok: false });
  });

  it('reads repeated paymentInfo entries as a list, nested elements with dotted names', () => {
    const document = parseXmlDocument(
      '<response><paymentInfo><order_number>A</order_number><networkToken><create_status>1</create_status></networkToken></paymentInfo></response>',
      { roots: ['response'], lists: ['paymentInfo'] },
    );
    expect(document.ok).toBe(true);
    if (!document.ok || typeof document.value.content === 'string') throw new Error('expected content');
    const infos = document.value.content.paymentInfo;
    expect(Array.isArray(infos)).toBe(true);
    const [first] = infos as XmlElement[];
    expect(leafFields(first ?? '')).toEqual({ ok: true, value: { order_number: 'A', 'networkToken.create_status': '1' } });
  });
});

describe('building XML', () => {
  it('escapes values so the parser gives back exactly what was built', () => {
    const values: Array<[string, string]> = [
      ['order_notes', 'a & b <c> "d" \'e\' ]]> &amp;'],
      ['billing_city', 'Zürich 中'],
      ['order_amount', '0.10'],
      ['empty', ''],
    ];
    const xml = buildFlatXml('response', values);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<response>\n')).toBe(true);
    expect(parseFlatXml(xml, { roots: ['response'] })).toEqual({ ok: true, value: { root: 'response', fields: Object.fromEntries(values) } });
  });

  it('replaces characters XML cannot carry instead of writing a broken document', () => {
    const xml = buildFlatXml('response', [['a', 'x\u0000y\u001Fz']]);
    expect(parseFlatXml(xml, { roots: ['response'] })).toMatchObject({ ok: true, value: { fields: { a: 'x\uFFFDy\uFFFDz' } } });
  });

  it('builds nested elements and refuses invalid element names', () => {
    expect(buildXml('response', [['paymentInfo', [['a', '1']]]])).toContain('<paymentInfo>\n<a>1</a>\n</paymentInfo>');
    expect(() => buildFlatXml('response', [['bad name', 'x']])).toThrow(/not a valid XML element name/);
  });

  it('decodes character references within the allowed range only', () => {
    expect(decodeXmlText('&#0;&#xD800;&#1114112;&#65;')).toBe('&#0;&#xD800;&#1114112;A');
  });
});

describe('flat messages read in one pass', () => {
  const viaFullParser = (xml: string) => {
    const document = parseXmlDocument(xml, { roots: ['response'] });
    if (!document.ok) return document;
    const fields = leafFields(document.value.content);
    return fields.ok ? { ok: true, value: { root: document.value.root, fields: fields.value } } : fields;
  };

  it.each([
    ['a notice with a declaration and line breaks', '<?xml version="1.0" encoding="UTF-8"?>\n<response>\n<order_number>NO-1</order_number>\n<order_amount>0.10</order_amount>\n<order_notes></order_notes>\n</response>\n'],
    ['entities and character references', '<response><billing_lastName>O&apos;Brien &amp; Sons &#233; &#x4E2D;</billing_lastName><x>&lt;b&gt;</x></response>'],
    ['empty elements both ways', '<response><a/><b></b><c>  spaced  </c></response>'],
    ['a comment (handled by the full parser)', '<response><!-- note --><a>1</a></response>'],
    ['CDATA (handled by the full parser)', '<response><a><![CDATA[x<y]]></a></response>'],
    ['attributes, which are ignored (handled by the full parser)', '<response version="2"><b>2</b></response>'],
  ])('%s: the same fields as the full parser', (_name, xml) => {
    expect(parseFlatXml(xml, { roots: ['response'] })).toEqual(viaFullParser(xml));
  });

  it('is no more lenient than the full parser', () => {
    for (const xml of ['<response><a>fish & chips</a></response>', '<response><a>1</b></response>', '<response><a>1</a>']) {
      expect(parseFlatXml(xml, { roots: ['response'] }).ok).toBe(false);
    }
  });
});
