import { ConfigError, loadConfig } from '../config.js';
import { createDataSource } from '../db/database.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { migrate } from '../db/migrate.js';
import { createLogger } from '../log.js';

// `npm run migrate`: apply pending migrations to DATABASE_URL (or the embedded cluster) and exit.

try {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const embedded = config.databaseUrl === null ? await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, database: 'bridge', log }) : null;
  const dataSource = createDataSource({ url: config.databaseUrl ?? embedded!.url, poolSize: 2 });
  await dataSource.initialize();
  try {
    const applied = await migrate(dataSource, log);
    console.log(applied.length === 0 ? 'database is up to date' : `applied: ${applied.join(', ')}`);
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : `migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
