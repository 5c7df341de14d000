import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomPrefix } from './kafka.js';
import { freePort, killHard, spawnReceiver, stopGracefully } from './process.js';
import { processEnv } from './receiver.js';
import { createDatabase } from './store.js';

export interface GroupMember {
  url: string;
  child: ChildProcess;
  output: () => string;
  port: number;
}

export interface ReceiverGroup {
  prefix: string;
  databaseUrl: string;
  members: (GroupMember | null)[];
  /** SIGKILL: the process dies holding its leases. */
  kill(index: number): Promise<void>;
  /** Starts member `index` again on its port, same settings. */
  restart(index: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * `count` receiver processes on one PostgreSQL database (a new one) and one topic prefix, each with
 * its own data dir and port: several receivers behind a load balancer, as `scripts/up --replicas`
 * runs them.
 */
export async function startReceiverGroup(count: number, overrides: Record<string, string> = {}): Promise<ReceiverGroup> {
  const prefix = randomPrefix();
  const databaseUrl = createDatabase();
  const dirs: string[] = [];
  const envOf = (i: number): Record<string, string> => {
    dirs[i] ??= mkdtempSync(join(tmpdir(), `unicop-group-${i}-`));
    return processEnv(dirs[i], prefix, { UNICOP_DATABASE_URL: databaseUrl, ...overrides });
  };
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const start = async (i: number): Promise<GroupMember> => ({ ...(await spawnReceiver(envOf(i), ports[i])), port: ports[i]! });
  // One after the other: the first migrates the new database, the others find it current.
  const members: (GroupMember | null)[] = [];
  for (let i = 0; i < count; i++) members.push(await start(i));
  return {
    prefix,
    databaseUrl,
    members,
    async kill(i) {
      const m = members[i];
      members[i] = null;
      if (m) await killHard(m.child);
    },
    async restart(i) {
      members[i] = await start(i);
    },
    async close() {
      await Promise.all(members.map((m) => m && stopGracefully(m.child)));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
