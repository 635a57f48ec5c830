// Reading elements one way, whether from the tree fast-xml-parser builds or from the outline, so that
// a reader of a document (approval.ts) has one logic for both: the outline where it can answer, the
// tree where it cannot, and the tree as the reference the property tests hold the outline to.

import type { XmlOutline } from './xml-outline.js';
import { attrOf, child, children, findFirst, hasChildElements, isNode, textOf, type XmlNode } from './xml-tree.js';

/**
 * What the tree helpers (xml-tree.ts) answer, over elements as one source names them (E), undefined
 * for no element. Names are local names, whatever the prefix.
 */
export interface XmlReader<E> {
  readonly root: E;
  /** The first child element with this name. */
  child(element: E | undefined, name: string): E | undefined;
  /** Every child element with this name, in the tree's order. */
  children(element: E | undefined, name: string): E[];
  /** The first element with this name anywhere below, depth first in the tree's order. */
  findFirst(element: E | undefined, name: string): E | undefined;
  /** True when the tree holds the element as an object (attributes, child elements or CDATA), not as a string. */
  isNode(element: E | undefined): boolean;
  hasChildElements(element: E | undefined): boolean;
  /** Text and CDATA joined, trimmed; '' for none. */
  text(element: E | undefined): string;
  /** An attribute's value, trimmed; '' for none. */
  attr(element: E | undefined, name: string): string;
}

/** The parsed tree; an element is the value the tree holds for it. */
export function treeReader(root: XmlNode): XmlReader<unknown> {
  return {
    root,
    child: (element, name) => (isNode(element) ? child(element, name) : undefined),
    children: (element, name) => (isNode(element) ? children(element, name) : []),
    findFirst: (element, name) => (isNode(element) ? findFirst(element, name) : undefined),
    isNode,
    hasChildElements: (element) => isNode(element) && hasChildElements(element),
    text: textOf,
    attr: attrOf,
  };
}

/** The outline; an element is its record. It must hold every depth the reader goes down to. */
export function outlineReader(outline: XmlOutline): XmlReader<number> {
  const found = (element: number): number | undefined => (element === -1 ? undefined : element);
  return {
    root: outline.root,
    child: (element, name) => (element === undefined ? undefined : found(outline.childByLocalName(element, name))),
    children: (element, name) => (element === undefined ? [] : outline.childrenByLocalName(element, name)),
    findFirst: (element, name) => (element === undefined ? undefined : found(outline.descendantByLocalName(element, name))),
    isNode: (element) => element !== undefined && outline.isNode(element),
    hasChildElements: (element) => element !== undefined && outline.hasChildElements(element),
    text: (element) => (element === undefined ? '' : outline.text(element)),
    // The tree trims the raw value before decoding it; attrOf trims what it decoded.
    attr: (element, name) => (element === undefined ? '' : (outline.attribute(element, name) ?? '').trim()),
  };
}
