/** The EDA leg for e2e tests: `scripts/eda` pointed at a test Kafka prefix and the AWX API double. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BROKERS } from './kafka.js';

const REPO = new URL('../../../', import.meta.url).pathname;

export interface EdaSettings {
  awxUrl: string;
  awxToken: string;
  /** The receiver's topic prefix; the rulebook's consumer group and persistence id derive from it. */
  prefix: string;
  /** scripts/eda's data dir (pid, rulebook.log). */
  dataDir: string;
  /** Seconds: how often run_job_template re-reads a template, and how long a stop waits for running jobs. */
  templateRefreshDelay: string;
  shutdownDelay: string;
}

/** What every rulebook of a test needs: this process's environment, the test Kafka, its prefix, group and data dir. */
function rulebookEnvironment(s: { prefix: string; dataDir: string; shutdownDelay: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_BROKERS: BROKERS.join(','),
    UNICOP_TOPIC_PREFIX: s.prefix,
    UNICOP_EDA_GROUP_ID: `${s.prefix}-eda`,
    UNICOP_EDA_PERSISTENCE_ID: `${s.prefix}-eda`,
    EDA_DATA_DIR: s.dataDir,
    EDA_SHUTDOWN_DELAY: s.shutdownDelay,
  };
}

/** The environment of `scripts/eda`: this process's, with every AWX credential but the token removed. */
export function edaEnvironment(s: EdaSettings): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...rulebookEnvironment(s),
    AWX_URL: s.awxUrl,
    AWX_TOKEN: s.awxToken,
    EDA_JOB_TEMPLATE_REFRESH_DELAY: s.templateRefreshDelay,
  };
  delete env.AWX_TOKEN_FILE;
  delete env.AWX_USERNAME;
  delete env.AWX_PASSWORD;
  return env;
}

/** The tail of the rulebook's log, without the Drools engine's chatter and stack-trace lines. */
export function rulebookLog(dataDir: string, lines = 60): string {
  try {
    return readFileSync(join(dataDir, 'rulebook.log'), 'utf8')
      .split('\n')
      .filter((l) => !l.includes('org.drools') && !l.startsWith(' '))
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no rulebook.log)';
  }
}

/** Runs `scripts/eda <action>`; its output, or an error with the output and the rulebook's log. */
export async function runEda(action: 'install' | 'up' | 'down', env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(`${REPO}scripts/eda`, [action], {
      env,
      timeout: action === 'install' ? 600_000 : 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    const log = env.EDA_DATA_DIR ? rulebookLog(env.EDA_DATA_DIR) : '';
    throw new Error(`scripts/eda ${action} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}\n${log}`, { cause: error });
  }
}

export interface LocalEdaSettings {
  prefix: string;
  dataDir: string;
  receiverUrl: string;
  /** A file holding the receiver's notify token (scripts/eda hands the path on, never the value on argv). */
  notifyTokenFile: string;
  playbookDir: string;
  renderDir: string;
  netboxUrl: string;
  netboxToken: string;
  shutdownDelay: string;
}

/** The environment of `scripts/eda` for the local executor: every AWX variable removed, so it picks unicop-local.yml. */
export function localEdaEnvironment(s: LocalEdaSettings): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...rulebookEnvironment(s),
    UNICOP_RECEIVER_URL: s.receiverUrl,
    UNICOP_AWX_NOTIFY_TOKEN_FILE: s.notifyTokenFile,
    UNICOP_PLAYBOOK_DIR: s.playbookDir,
    UNICOP_RENDER_DIR: s.renderDir,
    NETBOX_URL: s.netboxUrl,
    NETBOX_TOKEN: s.netboxToken,
  };
  for (const name of [
    'AWX_URL',
    'AWX_TOKEN',
    'AWX_TOKEN_FILE',
    'AWX_USERNAME',
    'AWX_PASSWORD',
    'UNICOP_AWX_NOTIFY_TOKEN',
    'UNICOP_EDA_RULEBOOK',
    'NETBOX_TOKEN_FILE',
  ])
    delete env[name];
  return env;
}
