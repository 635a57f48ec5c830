import { empty, FormatError, malformed } from '../errors.js';
import type { AckAddressing, Approval, ApprovalItem } from '../types.js';
import { exceedsLength, hasInvisibleOrControl, MAX_EMPLOYEE_NO_LENGTH, MAX_GUID_LENGTH } from '../identifiers.js';
import { unescapePayload } from './unescape.js';
import { ALL_DEPTHS, outlineReader, outlineXml, parseXml, treeReader, type XmlReader } from './xml.js';

// Reads the message id, the device ids and the approval fields out of the payload (contract §3,
// "The approval payload"), in steps, so the caller knows the ids even when a later step fails.
// Pure; a failure is a FormatError.

export type ReadPayload = { ok: true; addressing: AckAddressing; approval: Approval } | { ok: false; addressing: AckAddressing; error: FormatError };

const NO_ADDRESSING: AckAddressing = { guid: '', senderId: '', receiverId: '' };

/** The payload read whole: the approval, or what is wrong with it and the ids read before that. */
export function readPayload(payload: string): ReadPayload {
  return readSteps(payload, payloadReader);
}

/**
 * The same from the parsed tree alone: the reading for payloads the outline cannot answer for, and
 * the reference the outline is tested against.
 */
export function readPayloadTree(payload: string): ReadPayload {
  return readSteps(payload, treeOf);
}

function readSteps<E>(payload: string, open: (xml: string) => XmlReader<E>): ReadPayload {
  let addressing = NO_ADDRESSING;
  try {
    const doc = open(payloadXml(payload));
    addressing = readAddressing(doc);
    return { ok: true, addressing, approval: readApproval(doc, addressing) };
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    return { ok: false, addressing, error: err };
  }
}

const WHAT = '消息内容';

/** The payload's XML, its escaping layers peeled. */
function payloadXml(payload: string): string {
  if (payload.trim() === '') throw empty();
  const xml = unescapePayload(payload);
  if (xml === '') throw empty();
  if (!xml.startsWith('<')) throw malformed('消息内容不是XML');
  return xml;
}

/**
 * The payload's outline, all depths of it (the request may be anywhere below the root): building
 * the tree, to read a dozen values out of it, was most of readPush's time (bench/read-push.ts). The
 * tree only for a payload whose names the outline cannot read (see outlineXml).
 */
function payloadReader(xml: string): XmlReader<number> | XmlReader<unknown> {
  const outline = outlineXml(xml, WHAT, ALL_DEPTHS);
  return outline === null ? treeOf(xml) : outlineReader(outline);
}

function treeOf(xml: string): XmlReader<unknown> {
  return treeReader(parseXml(xml, WHAT).root);
}

/** The ids the ack echoes. A GUID too long to keep is no id at all: the ack must not echo it as one. */
function readAddressing<E>(doc: XmlReader<E>): AckAddressing {
  const read = {
    // The root's own <id>: deeper <id>s (patients, orders) are not the message id.
    guid: guidOf(doc),
    senderId: deviceId(doc, doc.child(doc.root, 'sender')),
    receiverId: deviceId(doc, doc.child(doc.root, 'receiver')),
  };
  return exceedsLength(read.guid, MAX_GUID_LENGTH) ? { ...read, guid: '' } : read;
}

function guidOf<E>(doc: XmlReader<E>): string {
  return doc.attr(doc.child(doc.root, 'id'), 'extension');
}

function checkGuid(guid: string): void {
  if (guid === '') throw malformed('缺少消息ID（根节点的id/@extension）');
  if (exceedsLength(guid, MAX_GUID_LENGTH)) throw malformed(`消息ID（根节点的id/@extension）超过${MAX_GUID_LENGTH}个字符`);
}

/** `<device><id><item extension=".."/></id></device>`, or the id written without `<item>`. */
function deviceId<E>(doc: XmlReader<E>, party: E | undefined): string {
  if (!doc.isNode(party)) return '';
  const device = doc.child(party, 'device');
  const id = doc.child(doc.isNode(device) ? device : party, 'id');
  if (!doc.isNode(id)) return '';
  const item = doc.child(id, 'item');
  return doc.attr(item, 'extension') || doc.attr(id, 'extension');
}

/** The approval; `addressing` as readAddressing gave it. */
function readApproval<E>(doc: XmlReader<E>, addressing: AckAddressing): Approval {
  checkGuid(guidOf(doc));
  const request = doc.findFirst(doc.root, 'request');
  if (request !== undefined && isEmptyElement(doc, request)) throw empty();
  // A request held as a string (text only) has no fields: read as one with none.
  const req = doc.isNode(request) ? request : undefined;
  const field = (name: string): string => doc.text(doc.child(req, name));
  const employeeNo = field('employee_no');
  if (employeeNo === '') throw malformed(request === undefined ? '缺少request节点' : '缺少申请人工号（employee_no）');
  checkEmployeeNo(employeeNo);
  return {
    ...addressing,
    employeeNo,
    operator: field('operator'),
    billType: field('bill_type'),
    billNum: field('bill_num'),
    approvalDate: field('approval_date'),
    approvalOpinion: field('approval_opinion'),
    items: doc.children(req, 'lists').map((list) => readItem(doc, list)),
  };
}

/** The number is looked up and indexed: one the mapping table cannot hold, or that hides characters, never matches. */
function checkEmployeeNo(employeeNo: string): void {
  if (exceedsLength(employeeNo, MAX_EMPLOYEE_NO_LENGTH)) throw malformed(`申请人工号（employee_no）超过${MAX_EMPLOYEE_NO_LENGTH}个字符`);
  if (hasInvisibleOrControl(employeeNo)) throw malformed('申请人工号含有控制字符或不可见字符');
}

function readItem<E>(doc: XmlReader<E>, list: E): ApprovalItem {
  return {
    pi: doc.text(doc.child(list, 'PI')),
    cardNum: doc.text(doc.child(list, 'card_num')),
    projectName: doc.text(doc.child(list, 'project_name')),
  };
}

function isEmptyElement<E>(doc: XmlReader<E>, element: E): boolean {
  return !doc.hasChildElements(element) && doc.text(element) === '';
}
