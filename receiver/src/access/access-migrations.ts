import type { SchemaComponent } from '../database.js';

/**
 * Temporary access grants as the receiver knows them (access-grants.ts): one row per grant, its
 * parsed form and its state. `active` rows are extra IAM bindings until `expires_at`; the expiry
 * schedule moves them to `expired`; a NetBox delete before expiry moves them to `revoked`; a grant
 * the receiver will not honour is kept as `refused` with the reason. Ended rows stay (one small row
 * per grant a person made), so a late or repeated NetBox event never starts a grant again.
 */
export const ACCESS_SCHEMA: SchemaComponent = {
  name: 'access',
  migrations: [
    `CREATE TABLE access_grants (
       grant_id TEXT PRIMARY KEY,
       state TEXT NOT NULL CHECK (state IN ('active', 'revoked', 'expired', 'refused')),
       grant_json TEXT NOT NULL,
       expires_at INTEGER,
       updated_at INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX access_grants_active ON access_grants(expires_at) WHERE state = 'active';`,
  ],
  postgres: [
    `CREATE TABLE access_grants (
       grant_id TEXT PRIMARY KEY,
       state TEXT NOT NULL CHECK (state IN ('active', 'revoked', 'expired', 'refused')),
       grant_json TEXT NOT NULL,
       expires_at BIGINT,
       updated_at BIGINT NOT NULL
     );
     CREATE INDEX access_grants_active ON access_grants(expires_at) WHERE state = 'active';`,
  ],
  // Databases from before parts had their own migrations never had these tables.
  legacyVersions: [0, 0, 0, 0, 0, 0, 0],
};
