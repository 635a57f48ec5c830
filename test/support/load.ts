import { request as undiciRequest } from 'undici';
import { readAck } from '../../src/cli/fixture-file.js';
import { newGuid, soapPush } from './push.js';

// Bounded load for fault tests: a few concurrent senders pushing fresh GUIDs until told to stop,
// recording what each push was answered (or that it got no answer at all).

export interface PushRecord {
  guid: string;
  startedAt: number;
  ms: number;
  ackCode: string | null;
  reason: string;
  status: number | null;
}

export interface Load {
  results: PushRecord[];
  stop(): Promise<PushRecord[]>;
}

export function startLoad(urls: string[], options: { concurrency: number; employeeNo: string; maxPushes?: number }): Load {
  const results: PushRecord[] = [];
  let running = true;
  let sent = 0;
  const limit = options.maxPushes ?? 5000;
  const sender = async (index: number): Promise<void> => {
    while (running && sent < limit) {
      sent++;
      const guid = newGuid();
      const startedAt = Date.now();
      const url = urls[(index + sent) % urls.length]!;
      try {
        const res = await undiciRequest(`${url}/push`, {
          method: 'POST',
          headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
          body: soapPush(guid, options.employeeNo),
          headersTimeout: 20_000,
          bodyTimeout: 20_000,
        });
        const text = await res.body.text();
        const ack = readAck(text);
        results.push({ guid, startedAt, ms: Date.now() - startedAt, ackCode: ack.ackCode, reason: ack.reason, status: res.statusCode });
      } catch (err) {
        results.push({ guid, startedAt, ms: Date.now() - startedAt, ackCode: null, reason: err instanceof Error ? err.message : String(err), status: null });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const senders = Array.from({ length: options.concurrency }, (_, i) => sender(i));
  return {
    results,
    stop: async () => {
      running = false;
      await Promise.all(senders);
      return results;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
