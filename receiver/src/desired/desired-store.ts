import type { Db } from '../database.js';

export interface Member {
  member: string;
  root: string;
  /** Canonical JSON of the member's state (canonical.ts). */
  state: string;
  eventId: string;
}

export interface RootRow {
  desiredVersion: string | null;
  deleted: boolean;
}

/** Prepared statements over the projections' tables (desired-migrations.ts). Synchronous; callers own transactions. */
export class DesiredStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      member: db.prepare<[string], { member: string; root: string; state: string; event_id: string }>(
        'SELECT member, root, state, event_id FROM desired_members WHERE member = ?',
      ),
      members: db.prepare<[string], { member: string; state: string }>('SELECT member, state FROM desired_members WHERE root = ? ORDER BY member'),
      putMember: db.prepare<[string, string, string, string]>(
        `INSERT INTO desired_members (member, root, state, event_id) VALUES (?, ?, ?, ?)
         ON CONFLICT(member) DO UPDATE SET root = excluded.root, state = excluded.state, event_id = excluded.event_id`,
      ),
      dropMember: db.prepare<[string]>('DELETE FROM desired_members WHERE member = ?'),
      dropMembers: db.prepare<[string]>('DELETE FROM desired_members WHERE root = ?'),
      root: db.prepare<[string], { desired_version: string | null; deleted: number }>('SELECT desired_version, deleted FROM desired_roots WHERE root = ?'),
      putRoot: db.prepare<[string, string | null, number, string, number]>(
        `INSERT INTO desired_roots (root, desired_version, deleted, event_id, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(root) DO UPDATE SET desired_version = excluded.desired_version, deleted = excluded.deleted,
           event_id = excluded.event_id, updated_at = excluded.updated_at`,
      ),
    };
  }

  member(key: string): Member | undefined {
    const row = this.q.member.get(key);
    return row && { member: row.member, root: row.root, state: row.state, eventId: row.event_id };
  }

  /** A root's members in key order (the order desiredVersion hashes them in). */
  members(root: string): { member: string; state: string }[] {
    return this.q.members.all(root);
  }

  putMember(m: Member): void {
    this.q.putMember.run(m.member, m.root, m.state, m.eventId);
  }

  dropMember(key: string): void {
    this.q.dropMember.run(key);
  }

  dropMembers(root: string): void {
    this.q.dropMembers.run(root);
  }

  root(root: string): RootRow | undefined {
    const row = this.q.root.get(root);
    return row && { desiredVersion: row.desired_version, deleted: row.deleted === 1 };
  }

  putRoot(root: string, desiredVersion: string | null, deleted: boolean, eventId: string, now: number): void {
    this.q.putRoot.run(root, desiredVersion, deleted ? 1 : 0, eventId, now);
  }

  /** The root's current desiredVersion; null when it has no projection (unknown, emptied or deleted). */
  desiredVersion(root: string): string | null {
    return this.q.root.get(root)?.desired_version ?? null;
  }
}
