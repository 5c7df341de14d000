import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { randomPrefix, sleep } from './kafka.js';
import { freePort } from './process.js';
import { waitFor } from './wait-for.js';

const REPO = new URL('../../../', import.meta.url).pathname;

/** A source of a federation file as a test writes it: its secrets go to a file beside the federation file. */
export interface TestSource {
  name: string;
  secrets: string[];
  netbox?: { url: string; token: string };
}

/**
 * Writes a federation file and its sources' secret (and token) files into a new temporary
 * directory, with relative paths (the reader resolves them from the file's directory). Returns the
 * file's path.
 */
export function federationFile(file: { cell: string; sources: TestSource[]; owners: unknown[]; routes: unknown[]; [more: string]: unknown }): string {
  const dir = mkdtempSync(join(tmpdir(), 'unicop-federation-'));
  const sources = file.sources.map((s) => {
    writeFileSync(join(dir, `${s.name}.secrets`), `${s.secrets.join(',')}\n`, { mode: 0o600 });
    if (s.netbox) writeFileSync(join(dir, `${s.name}.token`), `${s.netbox.token}\n`, { mode: 0o600 });
    return { name: s.name, secretsFile: `${s.name}.secrets`, ...(s.netbox && { netbox: { url: s.netbox.url, tokenFile: `${s.name}.token` } }) };
  });
  const path = join(dir, 'federation.json');
  writeFileSync(path, JSON.stringify({ version: 1, ...file, sources }, null, 2));
  return path;
}

/** A second broker beside the test broker, run by `scripts/kafka` with its own ports and data (as operators run several). */
export async function secondBroker() {
  const env = {
    ...process.env,
    KAFKA_PORT: String(await freePort()),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
    KAFKA_DATA_DIR: mkdtempSync(join(tmpdir(), 'unicop-broker-b-')),
  };
  const run = (command: 'up' | 'down') => promisify(execFile)(`${REPO}scripts/kafka`, [command], { env, timeout: 180_000 });
  await run('up');
  const pid = () => Number(readFileSync(join(env.KAFKA_DATA_DIR, 'kafka.pid'), 'utf8').trim());
  return {
    brokers: `127.0.0.1:${env.KAFKA_PORT}`,
    pid,
    up: () => run('up'),
    async close() {
      try {
        process.kill(pid(), 'SIGCONT');
      } catch {
        /* not running */
      }
      await run('down').catch(() => undefined);
      rmSync(env.KAFKA_DATA_DIR, { recursive: true, force: true });
    },
  };
}

export interface Message {
  key: string;
  value: { id: string; source: string; sequence: string; data: { route?: string; source?: string; root: { key: string } } };
}

/** Reads `topic` of a cluster from the beginning until `count` messages came (or the timeout), then a little longer. */
export async function readAll(brokers: string, topic: string, count: number, timeoutMs = 90_000): Promise<Message[]> {
  const kafka = new Kafka({ clientId: 'unicop-test', brokers: [brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `unicop-test-${randomPrefix()}`, readUncommitted: false }); // read_committed, as consumers of the relay must
  const received: Message[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({ key: message.key?.toString() ?? '', value: JSON.parse(message.value?.toString() ?? 'null') as Message['value'] });
      },
    });
    await waitFor(() => received.length >= count, timeoutMs, `${count} messages on ${topic} at ${brokers}`).catch(() => undefined);
    await sleep(1000);
  } finally {
    await consumer.disconnect();
  }
  return received;
}
