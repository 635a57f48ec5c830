import { empty, FormatError, malformed } from '../errors.js';
import type { AckAddressing, Approval, ApprovalItem } from '../types.js';
import { exceedsLength, hasInvisibleOrControl, MAX_EMPLOYEE_NO_LENGTH, MAX_GUID_LENGTH } from '../identifiers.js';
import { unescapePayload } from './unescape.js';
import { attrOf, child, children, hasChildElements, isElementKey, isNode, localName, parseXml, textOf, type XmlNode } from './xml.js';

// Reads the message id, the device ids and the approval fields out of the payload (contract §3,
// "The approval payload"), in steps, so the caller knows the ids even when a later step fails.
// Pure; a failure is a FormatError.

export type ReadPayload = { ok: true; addressing: AckAddressing; approval: Approval } | { ok: false; addressing: AckAddressing; error: FormatError };

const NO_ADDRESSING: AckAddressing = { guid: '', senderId: '', receiverId: '' };

/** The payload read whole: the approval, or what is wrong with it and the ids read before that. */
export function readPayload(payload: string): ReadPayload {
  let addressing = NO_ADDRESSING;
  try {
    const root = payloadRoot(payload);
    addressing = readAddressing(root);
    return { ok: true, addressing, approval: readApproval(root, addressing) };
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    return { ok: false, addressing, error: err };
  }
}

/** The payload's XML root, its escaping layers peeled. */
export function payloadRoot(payload: string): XmlNode {
  if (payload.trim() === '') throw empty();
  const xml = unescapePayload(payload);
  if (xml === '') throw empty();
  if (!xml.startsWith('<')) throw malformed('消息内容不是XML');
  return parseXml(xml, '消息内容').root;
}

/** The ids the ack echoes. A GUID too long to keep is no id at all: the ack must not echo it as one. */
export function readAddressing(root: XmlNode): AckAddressing {
  const read = {
    // The root's own <id>: deeper <id>s (patients, orders) are not the message id.
    guid: guidOf(root),
    senderId: deviceId(child(root, 'sender')),
    receiverId: deviceId(child(root, 'receiver')),
  };
  return exceedsLength(read.guid, MAX_GUID_LENGTH) ? { ...read, guid: '' } : read;
}

function guidOf(root: XmlNode): string {
  return attrOf(child(root, 'id'), 'extension');
}

function checkGuid(guid: string): void {
  if (guid === '') throw malformed('缺少消息ID（根节点的id/@extension）');
  if (exceedsLength(guid, MAX_GUID_LENGTH)) throw malformed(`消息ID（根节点的id/@extension）超过${MAX_GUID_LENGTH}个字符`);
}

/** `<device><id><item extension=".."/></id></device>`, or the id written without `<item>`. */
function deviceId(party: unknown): string {
  if (!isNode(party)) return '';
  const device = child(party, 'device');
  const id = child(isNode(device) ? device : party, 'id');
  if (!isNode(id)) return '';
  const item = child(id, 'item');
  return attrOf(item, 'extension') || attrOf(id, 'extension');
}

/** The approval; `addressing` as readAddressing gave it. */
export function readApproval(root: XmlNode, addressing: AckAddressing): Approval {
  checkGuid(guidOf(root));
  const request = findFirst(root, 'request');
  if (request !== undefined && isEmptyElement(request)) throw empty();
  const req: XmlNode = isNode(request) ? request : {};
  const employeeNo = textOf(child(req, 'employee_no'));
  if (employeeNo === '') throw malformed(request === undefined ? '缺少request节点' : '缺少申请人工号（employee_no）');
  checkEmployeeNo(employeeNo);
  return {
    ...addressing,
    employeeNo,
    operator: textOf(child(req, 'operator')),
    billType: textOf(child(req, 'bill_type')),
    billNum: textOf(child(req, 'bill_num')),
    approvalDate: textOf(child(req, 'approval_date')),
    approvalOpinion: textOf(child(req, 'approval_opinion')),
    items: children(req, 'lists').map(readItem),
  };
}

/** The number is looked up and indexed: one the mapping table cannot hold, or that hides characters, never matches. */
function checkEmployeeNo(employeeNo: string): void {
  if (exceedsLength(employeeNo, MAX_EMPLOYEE_NO_LENGTH)) throw malformed(`申请人工号（employee_no）超过${MAX_EMPLOYEE_NO_LENGTH}个字符`);
  if (hasInvisibleOrControl(employeeNo)) throw malformed('申请人工号含有控制字符或不可见字符');
}

function readItem(list: unknown): ApprovalItem {
  const node: XmlNode = isNode(list) ? list : {};
  return {
    pi: textOf(child(node, 'PI')),
    cardNum: textOf(child(node, 'card_num')),
    projectName: textOf(child(node, 'project_name')),
  };
}

/** The first element of this local name anywhere below `node`, depth first in document order. */
function findFirst(node: XmlNode, name: string): unknown {
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

function isEmptyElement(value: unknown): boolean {
  if (!isNode(value)) return textOf(value) === '';
  return !hasChildElements(value) && textOf(value) === '';
}
