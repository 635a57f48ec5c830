import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config.js';
import { restoreBackup } from '../db/backup.js';
import { migrate } from '../db/migrate.js';
import { createLogger } from '../log.js';
import { openTarget } from './database-target.js';

// `npm run restore -- FILE`: loads a backup into an empty database — a new DATA_DIR (the bridge
// stopped) or an empty DATABASE_URL — after creating the schema.

const file = process.argv[2];
try {
  if (file === undefined || !existsSync(file)) throw new Error(`usage: npm run restore -- BACKUP_FILE (${file === undefined ? 'no file given' : `no such file: ${file}`})`);
  const config = loadConfig();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const target = await openTarget(config, log);
  try {
    if (target.live && config.databaseUrl === null) throw new Error('the bridge using this DATA_DIR is running: stop it, then restore into a new DATA_DIR');
    await migrate(target.dataSource, log);
    const summary = await restoreBackup(target.dataSource, file);
    console.log(`restored ${file} (${Object.entries(summary.tables).map(([t, n]) => `${t}: ${n}`).join(', ')})`);
  } finally {
    await target.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : `restore failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
