import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

// Reads a push body with the limits an HTTP edge needs, so each failure can still be answered
// with an ack: too large (also after decompression), too slow, aborted, or an unknown encoding.

export type BodyRead =
  | { kind: 'ok'; body: Buffer }
  | { kind: 'too-large' }
  | { kind: 'too-slow' }
  | { kind: 'aborted' }
  | { kind: 'unsupported-encoding'; encoding: string };

export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<BodyRead> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  const stream = decoded(req, encoding);
  if (stream === null) return Promise.resolve({ kind: 'unsupported-encoding', encoding });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyRead): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.removeAllListeners('data');
      if (result.kind !== 'ok') req.pause(); // leave the rest unread; the connection is closed after the answer
      resolve(result);
    };
    const timer = setTimeout(() => finish({ kind: 'too-slow' }), timeoutMs);
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish({ kind: 'too-large' });
      else chunks.push(chunk);
    });
    stream.on('end', () => finish({ kind: 'ok', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }));
    stream.on('error', () => finish({ kind: 'aborted' }));
    req.on('aborted', () => finish({ kind: 'aborted' }));
  });
}

function decoded(req: IncomingMessage, encoding: string): Readable | null {
  switch (encoding) {
    case 'identity':
    case '':
      return req;
    case 'gzip':
    case 'x-gzip':
      return req.pipe(createGunzip());
    case 'deflate':
      return req.pipe(createInflate());
    case 'br':
      return req.pipe(createBrotliDecompress());
    default:
      return null;
  }
}
