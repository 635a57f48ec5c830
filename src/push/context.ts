import type { Database } from '../db/data-source.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Deliverer } from './deliver.js';

// What every step of the push path needs, handed along once instead of through a hub object.

export interface PushContext {
  db: Database;
  log: Logger;
  metrics: Metrics;
  bridgeId: string;
  /** The channel a text goes out through: WeChat customer service, or the sandbox. */
  deliverer: Deliverer;
  /** At most this many messages per push (WECHAT_MAX_PARTS). */
  maxParts: number;
  /** This bridge as claimant (host:port), set once the port is bound; see db/messages.ts. */
  identity: { claimant: string };
}
