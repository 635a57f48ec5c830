import { malformed } from '../errors.js';
import type { Envelope, EnvelopeKind } from '../types.js';
import { charsetOfContentType, declaredEncoding, decodeBytes } from './charset.js';
import { childElements, hasChildElements, innerMarkup, isNode, localName, namespaceOf, outlineXml, parseXml, textOf, type XmlNode, type XmlOutline } from './xml.js';

// Takes the payload out of whatever the integration platform wrapped it in (contract §3):
// SOAP 1.1, SOAP 1.2, an HTML form, or the raw body. Pure: bytes and Content-Type in, Envelope out.

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';

const ACTION_NAMES = ['action', 'input1'];
const PAYLOAD_NAMES = ['message', 'input2'];

export function readEnvelope(body: Buffer, contentType: string | undefined): Envelope {
  // `curl -d @push.xml` and some HTTP clients label any body as a form; XML is never a form body.
  if (isForm(contentType) && !startsLikeMarkup(body)) return readForm(body, charsetOfContentType(contentType));
  const text = decodeBytes(body, charsetOfContentType(contentType)).trim();
  const kind = text.startsWith('<') ? soapKindOf(text) : null;
  if (kind === null) return rawEnvelope(text);
  return readSoap(text, kind);
}

/** For answering a push whose envelope could not be read: which wrapper the sender most likely expects. */
export function guessEnvelopeKind(body: Buffer, contentType: string | undefined, soapAction?: string): EnvelopeKind {
  if (isForm(contentType)) return 'form';
  const head = body.subarray(0, 4096).toString('latin1');
  if (head.includes(SOAP12_NS) || (contentType ?? '').toLowerCase().startsWith('application/soap+xml')) return 'soap12';
  if (head.includes(SOAP11_NS) || soapAction !== undefined) return 'soap11';
  return 'raw';
}

function startsLikeMarkup(body: Buffer): boolean {
  const head = body.subarray(0, 64).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  return head.startsWith('<') || head.startsWith('&lt;');
}

function isForm(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** Cheap check before a full parse: raw payloads are XML too, and only an Envelope in a SOAP namespace is SOAP. */
function soapKindOf(text: string): 'soap11' | 'soap12' | null {
  const head = text.slice(0, 2048);
  if (!/<([A-Za-z_][\w.-]*:)?Envelope[\s>]/.test(head)) return null;
  if (head.includes(SOAP12_NS)) return 'soap12';
  if (head.includes(SOAP11_NS)) return 'soap11';
  return null;
}

/**
 * A SOAP envelope, read from its outline (src/push/xml.ts): checked as strictly as any document, but
 * not parsed into a tree, which would copy the payload parameter (a long escaped text) character by
 * character and decode it, to be thrown away. Every answer is the one readSoapTree gives from the
 * parsed tree; the property tests hold the two to it.
 */
function readSoap(text: string, kind: 'soap11' | 'soap12'): Envelope {
  const outline = outlineXml(text, 'SOAP报文', PARAMETER_DEPTH);
  if (outline === null) return readSoapTree(text, kind);
  const root = outline.root;
  const rootName = outline.name(root);
  if (localName(rootName) !== 'Envelope' || outline.namespaceOf(rootName, [root]) !== namespaceOfKind(kind)) {
    return rawEnvelope(text);
  }
  const body = outline.children(root).find((e) => localName(outline.name(e)) === 'Body');
  if (body === undefined || !outline.isNode(body)) throw malformed('SOAP报文缺少Body');
  const op = findOperationIn(outline, body);
  if (op === undefined) throw malformed('SOAP报文中没有HIPMessageServer调用');
  const opName = outline.name(op);
  const parameters = outline.children(op);
  const payload = parameters.find((e) => PAYLOAD_NAMES.includes(localName(outline.name(e))));
  const action = parameters.find((e) => ACTION_NAMES.includes(localName(outline.name(e))));
  const scopes = [op, body, root];
  return {
    kind,
    action: action === undefined ? null : outline.text(action) || null,
    payload: payload === undefined ? '' : payloadOf(outline, [outline.name(body), opName, outline.name(payload)], payload),
    operationNamespace: outline.namespaceOf(opName, scopes),
    qualifiedParameters: payload === undefined ? false : outline.namespaceOf(outline.name(payload), [payload, ...scopes]) !== '',
    cdata: payload !== undefined && outline.hasCdata(payload),
    bodyText: text,
  };
}

/** Envelope, Body, operation, parameters: the outline goes no deeper, so the payload is never taken apart. */
const PARAMETER_DEPTH = 4;

function namespaceOfKind(kind: 'soap11' | 'soap12'): string {
  return kind === 'soap12' ? SOAP12_NS : SOAP11_NS;
}

/**
 * The payload is normally text (escaped or CDATA). Some clients put the approval XML in as literal
 * child elements instead; then take the element's inner markup verbatim from the envelope text.
 */
function payloadOf(outline: XmlOutline, path: string[], payload: number): string {
  if (!outline.hasChildElements(payload)) return outline.text(payload);
  let element = outline.root;
  for (const name of path) {
    element = outline.firstChildNamed(element, name);
    if (element === -1) return outline.text(payload);
  }
  return outline.innerMarkup(element).trim();
}

/** `HIPMessageServer` in any namespace; failing that, the first operation that carries a payload parameter. */
function findOperationIn(outline: XmlOutline, body: number): number | undefined {
  const ops = outline.children(body).filter((e) => outline.isNode(e));
  const named = ops.find((e) => localName(outline.name(e)) === 'HIPMessageServer');
  if (named !== undefined) return named;
  return ops.find((op) => outline.children(op).some((e) => PAYLOAD_NAMES.includes(localName(outline.name(e)))));
}

/**
 * The same from the parsed tree: for the rare envelope the outline cannot answer for, and the
 * reference the outline is tested against.
 */
export function readSoapTree(text: string, kind: 'soap11' | 'soap12'): Envelope {
  const { rootName, root } = parseXml(text, 'SOAP报文');
  if (localName(rootName) !== 'Envelope' || namespaceOf(rootName, [root]) !== namespaceOfKind(kind)) {
    return rawEnvelope(text);
  }
  const bodyEntry = childElements(root).find(([name]) => localName(name) === 'Body');
  if (!bodyEntry || !isNode(bodyEntry[1])) throw malformed('SOAP报文缺少Body');
  const [bodyName, body] = bodyEntry;
  const operation = findOperation(body);
  if (!operation) throw malformed('SOAP报文中没有HIPMessageServer调用');
  const [opName, op] = operation;
  const scopes = [op, body, root];
  const payloadEntry = childElements(op).find(([name]) => PAYLOAD_NAMES.includes(localName(name)));
  const actionEntry = childElements(op).find(([name]) => ACTION_NAMES.includes(localName(name)));
  const payloadNode = payloadEntry?.[1];
  return {
    kind,
    action: actionEntry ? textOf(actionEntry[1]) || null : null,
    payload: payloadEntry ? payloadText(text, [bodyName, opName, payloadEntry[0]], payloadNode) : '',
    operationNamespace: namespaceOf(opName, scopes),
    qualifiedParameters: payloadEntry ? namespaceOf(payloadEntry[0], isNode(payloadNode) ? [payloadNode, ...scopes] : scopes) !== '' : false,
    cdata: isNode(payloadNode) && payloadNode['#cdata'] !== undefined,
    bodyText: text,
  };
}

function payloadText(envelopeText: string, path: string[], node: unknown): string {
  if (!isNode(node) || !hasChildElements(node)) return textOf(node);
  return innerMarkup(envelopeText, path)?.trim() ?? textOf(node);
}

function rawEnvelope(text: string): Envelope {
  return { kind: 'raw', action: null, payload: text, operationNamespace: null, qualifiedParameters: false, cdata: false, bodyText: text };
}

function findOperation(body: XmlNode): [string, XmlNode] | null {
  const ops = childElements(body).filter((entry): entry is [string, XmlNode] => isNode(entry[1]));
  const named = ops.find(([name]) => localName(name) === 'HIPMessageServer');
  if (named) return named;
  return ops.find(([, op]) => childElements(op).some(([name]) => PAYLOAD_NAMES.includes(localName(name)))) ?? null;
}

function readForm(body: Buffer, headerCharset: string | null): Envelope {
  const fields = parseFormBytes(body);
  const message = fields.get('message') ?? Buffer.alloc(0);
  const action = fields.get('action');
  // A form has no XML declaration of its own; the one inside the message names the charset.
  const charset = headerCharset ?? declaredEncoding(message.subarray(0, 512).toString('latin1'));
  return {
    kind: 'form',
    action: action ? decodeBytes(action, charset).trim() || null : null,
    payload: decodeBytes(message, charset).trim(),
    operationNamespace: null,
    qualifiedParameters: false,
    cdata: false,
    bodyText: body.toString('latin1'),
  };
}

/** application/x-www-form-urlencoded to raw bytes per field, so GBK percent-escapes decode correctly afterwards. */
export function parseFormBytes(body: Buffer): Map<string, Buffer> {
  const fields = new Map<string, Buffer>();
  for (const pair of body.toString('latin1').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = percentDecode(eq === -1 ? pair : pair.slice(0, eq)).toString('utf8');
    if (!fields.has(name)) fields.set(name, percentDecode(eq === -1 ? '' : pair.slice(eq + 1)));
  }
  return fields;
}

function percentDecode(latin1: string): Buffer {
  const out = Buffer.allocUnsafe(latin1.length);
  let n = 0;
  for (let i = 0; i < latin1.length; i++) {
    const c = latin1.charCodeAt(i);
    if (c === 0x2b) {
      out[n++] = 0x20;
    } else if (c === 0x25 && i + 2 < latin1.length && isHex(latin1.charCodeAt(i + 1)) && isHex(latin1.charCodeAt(i + 2))) {
      out[n++] = parseInt(latin1.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
