import type { SchemaComponent } from '../database.js';

/**
 * Snapshots (snapshot-runner.ts): one row per run with its progress — the index of the object type
 * being read and the last NetBox id done — so a restarted receiver continues an unfinished run
 * where it stopped. The partial unique index keeps one `running` row at most, whoever inserts it.
 */
export const SNAPSHOT_SCHEMA: SchemaComponent = {
  name: 'snapshot',
  migrations: [
    `CREATE TABLE snapshots (
       id TEXT PRIMARY KEY,
       state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
       trigger TEXT NOT NULL CHECK (trigger IN ('request', 'schedule')),
       requested_by TEXT,
       object_types TEXT NOT NULL,
       type_index INTEGER NOT NULL DEFAULT 0,
       last_id INTEGER NOT NULL DEFAULT 0,
       counts TEXT NOT NULL,
       error TEXT,
       started_at INTEGER NOT NULL,
       finished_at INTEGER
     ) WITHOUT ROWID;
     CREATE UNIQUE INDEX snapshots_one_running ON snapshots(state) WHERE state = 'running';
     CREATE INDEX snapshots_started ON snapshots(started_at);`,
  ],
  postgres: [
    `CREATE TABLE snapshots (
       id TEXT PRIMARY KEY,
       state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
       trigger TEXT NOT NULL CHECK (trigger IN ('request', 'schedule')),
       requested_by TEXT,
       object_types TEXT NOT NULL,
       type_index BIGINT NOT NULL DEFAULT 0,
       last_id BIGINT NOT NULL DEFAULT 0,
       counts TEXT NOT NULL,
       error TEXT,
       started_at BIGINT NOT NULL,
       finished_at BIGINT
     );
     CREATE UNIQUE INDEX snapshots_one_running ON snapshots(state) WHERE state = 'running';
     CREATE INDEX snapshots_started ON snapshots(started_at);`,
  ],
  // Databases from before parts had their own migrations never had this table.
  legacyVersions: [0, 0, 0, 0, 0, 0, 0],
};
