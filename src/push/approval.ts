import { empty, malformed, PushRejected } from '../outcomes.js';
import type { AckAddressing, Approval, ApprovalItem } from '../types.js';
import { exceedsLength, hasInvisibleOrControl, MAX_EMPLOYEE_NO_LENGTH, MAX_GUID_LENGTH } from '../identifiers.js';
import { unescapePayload } from './unescape.js';
import { attrOf, child, childElements, children, isNode, localName, parseXml, textOf, type XmlNode } from './xml.js';

// Reads the message id, the device ids and the approval fields out of the payload (contract §3,
// "The approval payload"). Pure; every failure is a PushRejected that already knows the ids it could read.

export interface ReadPayload {
  addressing: AckAddressing;
  approval: Approval;
}

export function readPayload(payload: string): ReadPayload {
  if (payload.trim() === '') throw empty();
  const xml = unescapePayload(payload);
  if (xml === '') throw empty();
  if (!xml.startsWith('<')) throw malformed('消息内容不是XML');
  const { root } = parseXml(xml, '消息内容');
  const read = readAddressing(root);
  // A GUID too long to keep is no id at all: the ack must not echo it as one.
  const addressing = exceedsLength(read.guid, MAX_GUID_LENGTH) ? { ...read, guid: '' } : read;
  try {
    checkGuid(read.guid);
    return { addressing, approval: readApproval(root, addressing) };
  } catch (err) {
    if (err instanceof PushRejected) err.addressing = addressing;
    throw err;
  }
}

function readAddressing(root: XmlNode): AckAddressing {
  return {
    // The root's own <id>: deeper <id>s (patients, orders) are not the message id.
    guid: attrOf(child(root, 'id'), 'extension'),
    senderId: deviceId(child(root, 'sender')),
    receiverId: deviceId(child(root, 'receiver')),
  };
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

function readApproval(root: XmlNode, addressing: AckAddressing): Approval {
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
  for (const [key, value] of childElements(node)) {
    if (localName(key) === name) return value;
    if (isNode(value)) {
      const found = findFirst(value, name);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function isEmptyElement(value: unknown): boolean {
  if (!isNode(value)) return textOf(value) === '';
  return childElements(value).length === 0 && textOf(value) === '';
}
