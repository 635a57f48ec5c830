import { bindByInvitation, refuseMalformedCode, setFollowed, unbind } from '../binding/bind.js';
import type { Database } from '../db/data-source.js';
import { recordDeliveryReport } from '../db/messages.js';
import { recordInteraction } from '../db/wechat-users.js';
import { maskOpenid, type Logger } from '../log.js';
import { parseBindCommand, type CallbackMessage, type EventMessage } from './message.js';
import { bindReply, HELP, unbindReply, WELCOME_BACK } from './replies.js';

// What a callback does (contract §8–§10), once per message: the interaction recorded, binding
// commands and QR scans acted on, follow state tracked, template delivery reports kept. Answers
// the passive reply's text, or null for none ('success').

export interface CallbackDeps {
  db: Database;
  log: Logger;
}

export async function actOn(deps: CallbackDeps, m: CallbackMessage): Promise<string | null> {
  const openid = m.fromUserName;
  // WeChat's own delivery report is no sign of the employee: it must not open the 48-hour window.
  if (!(m.type === 'event' && m.event === 'TEMPLATESENDJOBFINISH')) await recordInteraction(deps.db, openid, new Date());
  if (m.type === 'text') return onText(deps, openid, m.content);
  if (m.type === 'event') return onEvent(deps, openid, m);
  // Pictures, voice, locations…: the employee is talking to the account, so tell them what it does.
  return HELP;
}

async function onText(deps: CallbackDeps, openid: string, content: string): Promise<string> {
  const command = parseBindCommand(content);
  if (command === null) return HELP;
  if (command.kind === 'unbind') {
    const employeeNos = await unbind(deps.db, openid);
    if (employeeNos.length > 0) deps.log.info({ openidMasked: maskOpenid(openid), employeeNos }, 'unbound by the employee');
    return unbindReply(employeeNos);
  }
  const result = command.wellFormed ? await bindByInvitation(deps.db, { code: command.code }, openid) : await refuseMalformedCode(deps.db, openid);
  logBind(deps, openid, result.kind, 'code');
  return bindReply(result, 'code');
}

async function onEvent(deps: CallbackDeps, openid: string, m: EventMessage): Promise<string | null> {
  switch (m.event) {
    case 'subscribe': {
      const refollowed = await setFollowed(deps.db, openid, true);
      if (m.scene !== undefined) return scan(deps, openid, m.scene);
      return refollowed.length > 0 ? WELCOME_BACK : HELP;
    }
    case 'SCAN':
      return m.scene === undefined ? null : scan(deps, openid, m.scene);
    case 'unsubscribe': {
      const employeeNos = await setFollowed(deps.db, openid, false);
      if (employeeNos.length > 0) deps.log.info({ openidMasked: maskOpenid(openid), employeeNos }, 'the employee stopped following the account');
      return null;
    }
    case 'TEMPLATESENDJOBFINISH':
      await deliveryReport(deps, m);
      return null;
    default:
      // Menu clicks, location reports…: nothing for us to do, and no reply expected.
      return null;
  }
}

async function scan(deps: CallbackDeps, openid: string, scene: string): Promise<string> {
  const result = await bindByInvitation(deps.db, { scene }, openid);
  logBind(deps, openid, result.kind, 'scene');
  return bindReply(result, 'scene');
}

async function deliveryReport(deps: CallbackDeps, m: EventMessage): Promise<void> {
  if (m.msgId === undefined || m.status === undefined) return;
  const guid = await recordDeliveryReport(deps.db, m.msgId, m.status);
  const line = { msgid: m.msgId, status: m.status, guid };
  if (guid === null) deps.log.info(line, 'template delivery report for a message we did not send (or no longer keep)');
  else if (m.status === 'success') deps.log.info(line, 'template delivered');
  else deps.log.warn(line, 'WeChat reports the template message was not delivered');
}

function logBind(deps: CallbackDeps, openid: string, result: string, via: 'code' | 'scene'): void {
  const line = { openidMasked: maskOpenid(openid), result, via };
  if (result === 'bound' || result === 'already-bound') deps.log.info(line, 'self-service binding');
  else deps.log.warn(line, 'self-service binding refused');
}
