// Reading the tree fast-xml-parser builds: child elements by local name, text, attributes, namespaces.

export type XmlNode = Record<string, unknown>;


export function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? qualified : qualified.slice(colon + 1);
}

export function prefixOf(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? '' : qualified.slice(0, colon);
}

/** Resolves an element's namespace URI from its prefix, searching the element then its ancestors (innermost first). */
export function namespaceOf(qualifiedName: string, scopes: XmlNode[]): string {
  const prefix = prefixOf(qualifiedName);
  const attr = prefix === '' ? '@_xmlns' : `@_xmlns:${prefix}`;
  for (const scope of scopes) {
    const uri = scope[attr];
    if (typeof uri === 'string') return uri;
  }
  return '';
}

/** Child elements (not attributes or text) in document order of first appearance, arrays flattened. */
export function childElements(node: XmlNode): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const key of Object.keys(node)) {
    if (!isElementKey(key)) continue;
    const value = node[key];
    if (Array.isArray(value)) for (const item of value) out.push([key, item]);
    else out.push([key, value]);
  }
  return out;
}

/** True when the node has at least one child element. */
export function hasChildElements(node: XmlNode): boolean {
  for (const key of Object.keys(node)) if (isElementKey(key)) return true;
  return false;
}

export function isElementKey(key: string): boolean {
  return !key.startsWith('@_') && key !== '#text' && key !== '#cdata';
}

/** First child element with this local name, whatever its prefix. Stops there: a hostile node may have 100,000 others. */
export function child(node: XmlNode, name: string): unknown {
  for (const key of Object.keys(node)) {
    if (!isElementKey(key) || localName(key) !== name) continue;
    const value = node[key];
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** Every child element with this local name, in document order. */
export function children(node: XmlNode, name: string): unknown[] {
  const out: unknown[] = [];
  for (const key of Object.keys(node)) {
    if (!isElementKey(key) || localName(key) !== name) continue;
    const value = node[key];
    if (Array.isArray(value)) for (const item of value) out.push(item);
    else out.push(value);
  }
  return out;
}

/** The text of an element: its text and CDATA joined, trimmed; '' for absent or element-only content. */
export function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value)) return textOf(value[0]);
  if (!isNode(value)) return String(value).trim();
  const text = value['#text'];
  const cdata = value['#cdata'];
  if (cdata === undefined) return typeof text === 'string' ? text.trim() : '';
  const parts = [typeof text === 'string' ? text : '', ...(Array.isArray(cdata) ? cdata : [cdata]).map((c) => (typeof c === 'string' ? c : ''))];
  return parts.join('').trim();
}

export function attrOf(value: unknown, name: string): string {
  if (!isNode(value)) return '';
  const attr = value[`@_${name}`];
  return typeof attr === 'string' ? attr.trim() : '';
}

/** The first element of this local name anywhere below `node`, depth first in the tree's key order. */
export function findFirst(node: XmlNode, name: string): unknown {
  for (const key of Object.keys(node)) {
    if (!isElementKey(key)) continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const item of value) {
        const found = matchOrFind(key, item, name);
        if (found !== undefined) return found;
      }
    } else {
      const found = matchOrFind(key, value, name);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function matchOrFind(key: string, value: unknown, name: string): unknown {
  if (localName(key) === name) return value;
  return isNode(value) ? findFirst(value, name) : undefined;
}
