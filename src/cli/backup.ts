import { ConfigError, loadConfig } from '../config.js';
import { writeBackup } from '../db/backup.js';
import { createLogger } from '../log.js';
import { openTarget } from './database-target.js';

// `npm run backup -- [FILE]`: a consistent backup of the bridge's data while it keeps running
// (see src/db/backup.ts). The file holds employee openids: it is written readable by its owner only.

const file = process.argv[2] ?? `bridge-backup-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}.jsonl.gz`;
try {
  const config = loadConfig();
  const target = await openTarget(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  try {
    const summary = await writeBackup(target.dataSource, file);
    console.log(`backup written to ${file} (${Object.entries(summary.tables).map(([t, n]) => `${t}: ${n}`).join(', ')})`);
  } finally {
    await target.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : `backup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
