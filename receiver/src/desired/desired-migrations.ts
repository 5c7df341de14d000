import type { SchemaComponent } from '../database.js';

/**
 * The desired-state projections' tables (desired-projection.ts). `desired_members`: every managed
 * object the spine holds, with the root it belongs to and its canonical state (canonical.ts), so a
 * root's desiredVersion is computed from its rows alone. `desired_roots`: each root's current
 * desiredVersion; a deleted root keeps its row (`deleted = 1`, one small row per deleted root) so
 * a component's late event or delete never publishes the root again.
 */
export const DESIRED_SCHEMA: SchemaComponent = {
  name: 'desired',
  migrations: [
    `CREATE TABLE desired_members (
       member TEXT PRIMARY KEY,
       root TEXT NOT NULL,
       state TEXT NOT NULL,
       event_id TEXT NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX desired_members_root ON desired_members(root, member);
     CREATE TABLE desired_roots (
       root TEXT PRIMARY KEY,
       desired_version TEXT,
       deleted INTEGER NOT NULL,
       event_id TEXT NOT NULL,
       updated_at INTEGER NOT NULL
     ) WITHOUT ROWID;`,
  ],
  postgres: [
    `CREATE TABLE desired_members (
       member TEXT PRIMARY KEY,
       root TEXT NOT NULL,
       state TEXT NOT NULL,
       event_id TEXT NOT NULL
     );
     CREATE INDEX desired_members_root ON desired_members(root, member);
     CREATE TABLE desired_roots (
       root TEXT PRIMARY KEY,
       desired_version TEXT,
       deleted BIGINT NOT NULL,
       event_id TEXT NOT NULL,
       updated_at BIGINT NOT NULL
     );`,
  ],
  // Databases from before parts had their own migrations never had these tables.
  legacyVersions: [0, 0, 0, 0, 0, 0, 0],
};
