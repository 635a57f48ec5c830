import { badRequest } from './errors.js';

// JSON bodies of the admin calls: an object of known fields, or a 400 naming what is wrong
// (`body: …` for anything but an object, the field itself for one that is not allowed).

/** `shape` completes "body: expected a JSON object …" for this call. */
export function objectBody(body: unknown, allowed: readonly string[], shape: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest(`body: expected a JSON object ${shape}`);
  const unknown = Object.keys(body).find((key) => !allowed.includes(key));
  if (unknown !== undefined) throw badRequest(`${unknown}: unknown field (allowed: ${allowed.join(', ')})`);
  return body as Record<string, unknown>;
}
