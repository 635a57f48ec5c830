import { ConfigError, loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createLogger } from '../log.js';
import { openTarget } from './database-target.js';

// `npm run migrate`: apply pending migrations to DATABASE_URL, or to the embedded cluster (the
// running bridge's, or started for this), and exit. Migrations also run at every start-up, under
// an advisory lock, so running this beside a live bridge is safe.

try {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const target = await openTarget(config, log);
  try {
    const applied = await migrate(target.dataSource, log);
    console.log(applied.length === 0 ? 'database is up to date' : `applied: ${applied.join(', ')}`);
  } finally {
    await target.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : `migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
