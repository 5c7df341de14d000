import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../src/database.js';
import { OutboxStore } from '../../src/pipeline/outbox/outbox-store.js';
import { openReceiverDatabase } from '../../src/receiver-database.js';
import { assertOutboxMessagesValid } from './message-schemas.js';

/**
 * A new SQLite receiver database in a temporary directory for each test (`open` in beforeEach, `close` in
 * afterEach); closing checks every outbox message the test wrote against the schema it names, then removes it.
 */
export class TempOutbox {
  private current: { dir: string; db: Db } | null = null;

  constructor(private readonly prefix: string) {}

  open(): { db: Db; store: OutboxStore } {
    const dir = mkdtempSync(join(tmpdir(), this.prefix));
    const db = openReceiverDatabase(dir);
    this.current = { dir, db };
    return { db, store: new OutboxStore(db) };
  }

  close(): void {
    const current = this.current;
    if (!current) return;
    this.current = null;
    try {
      assertOutboxMessagesValid(current.db);
    } finally {
      current.db.close();
      rmSync(current.dir, { recursive: true, force: true });
    }
  }
}
