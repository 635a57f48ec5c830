import { BlockList, isIPv4 } from 'node:net';
import type { Cidr } from '../config.js';
import { digestOf, sameSecret } from '../secret.js';

// Optional access control for /push: a source-address allow-list and a shared token. Either, both
// or neither; a refused push is answered 403 with an AE ack by the caller.

export interface PushAccess {
  /** Null when allowed, else the reason text for the AE ack. */
  refusal(clientIp: string | undefined, token: string | undefined): string | null;
}

export function pushAccess(allowIps: Cidr[], pushToken: string | null): PushAccess {
  const allowed = new BlockList();
  for (const cidr of allowIps) allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
  const expected = pushToken === null ? null : digestOf(pushToken);
  return {
    refusal(clientIp, token) {
      if (allowIps.length > 0 && !isAllowed(allowed, clientIp)) return `拒绝访问：来源地址 ${clientIp ?? '未知'} 不在允许推送的范围内`;
      if (expected !== null && (token === undefined || !sameSecret(token, expected))) return '拒绝访问：推送令牌无效';
      return null;
    },
  };
}

function isAllowed(allowed: BlockList, ip: string | undefined): boolean {
  if (!ip) return false;
  // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d.
  const plain = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  return allowed.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
}
