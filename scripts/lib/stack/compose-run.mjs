// Runs the services of docker/compose.yaml with `podman run` on the host network: scripts/stack up|down|status.
//
// Why not podman-compose: Debian's podman-compose 1.0.3 starts services in depends_on order but does not wait for
// `condition: service_healthy`, and this machine needs runc and explicit ulimits on every container. So this reads
// the compose file (the user-facing truth), interpolates ${VAR:-default} from the environment and translates each
// service: --network host, every service name resolving to 127.0.0.1 (--add-host), secrets and configs as read-only
// bind mounts where compose puts them, named volumes prefixed by the project, the health check as podman's, and a
// service started only after every service it depends on reports healthy.
//
//   node compose-run.mjs up [service...]|down|down-volumes|status|args   (env: STACK_PROJECT, STACK_NOFILE, STACK_NPROC, STACK_LOG_DIR)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const composeFile = resolve(here, '../../../docker/compose.yaml');
const composeDir = dirname(composeFile);
const project = process.env.STACK_PROJECT ?? 'unicop';
const nofile = process.env.STACK_NOFILE ?? '16384';
const nproc = process.env.STACK_NPROC ?? '4096';
const podmanBase = ['--runtime', 'runc'];

const log = (msg) => process.stderr.write(`stack: ${msg}\n`);

/** ${VAR}, ${VAR:-default}, ${VAR-default} and $$ as compose interpolates them. */
function interpolate(value) {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (whole, name, op, fallback) => {
      if (whole === '$$') return '$';
      const v = process.env[name];
      if (op === ':-') return v ? v : fallback;
      if (op === '-') return v ?? fallback;
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map(interpolate);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]));
  return value;
}

const compose = interpolate(parse(readFileSync(composeFile, 'utf8'), { merge: true }));
const activeProfiles = (process.env.COMPOSE_PROFILES ?? '').split(',').filter(Boolean);
const services = Object.entries(compose.services).filter(([, s]) => !s.profiles || s.profiles.some((p) => activeProfiles.includes(p)));
const names = services.map(([n]) => n);

/** Services in an order where each comes after those it depends on. */
function startOrder() {
  const order = [];
  const visit = (name, path = []) => {
    if (order.includes(name)) return;
    if (path.includes(name)) throw new Error(`depends_on cycle: ${[...path, name].join(' -> ')}`);
    for (const dep of Object.keys(dependsOn(name))) visit(dep, [...path, name]);
    order.push(name);
  };
  for (const n of names) visit(n);
  return order;
}

function dependsOn(name) {
  const d = compose.services[name].depends_on ?? {};
  return Array.isArray(d) ? Object.fromEntries(d.map((x) => [x, { condition: 'service_started' }])) : d;
}

const container = (name) => `${project}-${name}`;
const hostPath = (p) => resolve(composeDir, p);

function runArgs(name) {
  const s = compose.services[name];
  const args = [
    'run',
    '--detach',
    '--name',
    container(name),
    '--network',
    'host',
    '--ulimit',
    `nofile=${nofile}:${nofile}`,
    '--ulimit',
    `nproc=${nproc}:${nproc}`,
  ];
  args.push('--label', `unicop.stack.project=${project}`);
  for (const other of names) args.push('--add-host', `${other}:127.0.0.1`);
  for (const [k, v] of Object.entries(s.environment ?? {})) args.push('--env', `${k}=${v ?? ''}`);
  for (const secret of s.secrets ?? []) {
    const src = typeof secret === 'string' ? secret : secret.source;
    const target = typeof secret === 'string' ? secret : (secret.target ?? secret.source);
    args.push('--volume', `${hostPath(compose.secrets[src].file)}:/run/secrets/${target}:ro`);
  }
  for (const config of s.configs ?? []) {
    const src = typeof config === 'string' ? config : config.source;
    const target = typeof config === 'string' ? `/${config}` : (config.target ?? `/${src}`);
    args.push('--volume', `${hostPath(compose.configs[src].file)}:${target}:ro`);
  }
  for (const v of s.volumes ?? []) {
    const [src, ...rest] = v.split(':');
    const named = !src.startsWith('.') && !src.startsWith('/');
    args.push('--volume', `${named ? `${project}_${src}` : hostPath(src)}:${rest.join(':')}`);
  }
  if (s.read_only) args.push('--read-only');
  for (const t of s.tmpfs ?? []) args.push('--tmpfs', t);
  if (s.user) args.push('--user', s.user);
  if (s.stop_grace_period) args.push('--stop-timeout', String(parseInt(s.stop_grace_period, 10)));
  const hc = s.healthcheck;
  if (hc?.test) {
    const [kind, ...cmd] = hc.test;
    args.push('--health-cmd', kind === 'CMD-SHELL' ? cmd.join(' ') : JSON.stringify(cmd));
    for (const [key, flag] of [
      ['interval', '--health-interval'],
      ['timeout', '--health-timeout'],
      ['retries', '--health-retries'],
      ['start_period', '--health-start-period'],
    ]) {
      if (hc[key] !== undefined) args.push(flag, String(hc[key]));
    }
  }
  if (s.entrypoint) args.push('--entrypoint', JSON.stringify([].concat(s.entrypoint)));
  args.push(s.image);
  if (s.command) args.push(...[].concat(s.command));
  return args;
}

function podman(args, opts = {}) {
  return spawnSync('podman', [...podmanBase, ...args], { encoding: 'utf8', ...opts });
}

function state(name) {
  const r = podman(['inspect', '--format', '{{.State.Status}}', container(name)]);
  return r.status === 0 ? r.stdout.trim() : 'absent';
}

/** Runs the health check now (no systemd timers here); a service without one counts as healthy once running. */
function healthy(name) {
  if (state(name) !== 'running') return false;
  if (!compose.services[name].healthcheck?.test) return true;
  return podman(['healthcheck', 'run', container(name)]).status === 0;
}

function waitHealthy(name, timeoutS) {
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    if (healthy(name)) return;
    const st = state(name);
    if (st === 'exited' || st === 'absent') {
      const logs = podman(['logs', '--tail', '40', container(name)]);
      throw new Error(`${name} stopped (${st}); last lines:\n${logs.stdout}${logs.stderr}`);
    }
    spawnSync('sleep', ['2']);
  }
  throw new Error(`${name} not healthy within ${timeoutS} s (podman logs ${container(name)})`);
}

/** Starts `only` (every service when empty) after what each depends on, and waits until they are healthy. */
function up(only) {
  const wanted = only.length ? startOrder().filter((n) => only.some((o) => o === n || dependsOnTransitively(o, n))) : startOrder();
  for (const name of wanted) {
    const deps = dependsOn(name);
    for (const [dep, { condition }] of Object.entries(deps)) {
      if (condition === 'service_healthy') waitHealthy(dep, Number(process.env.STACK_HEALTH_TIMEOUT ?? 1200));
    }
    const st = state(name);
    if (st === 'running') {
      log(`${name}: already running`);
      continue;
    }
    if (st !== 'absent') podman(['rm', '--force', container(name)]);
    const r = podman(runArgs(name));
    if (r.status !== 0) throw new Error(`podman run ${name} failed: ${r.stderr.trim()}`);
    log(`${name}: started (${container(name)})`);
  }
  for (const name of wanted) waitHealthy(name, Number(process.env.STACK_HEALTH_TIMEOUT ?? 1200));
  log(`${wanted.length} services healthy: ${wanted.join(', ')}`);
}

function dependsOnTransitively(name, dep) {
  return Object.keys(dependsOn(name)).some((d) => d === dep || dependsOnTransitively(d, dep));
}

function down(volumes) {
  for (const name of startOrder().reverse()) {
    if (state(name) === 'absent') continue;
    const grace = parseInt(compose.services[name].stop_grace_period ?? '10', 10);
    podman(['stop', '--time', String(grace), container(name)]);
    podman(['rm', '--force', container(name)]);
    log(`${name}: stopped and removed`);
  }
  if (volumes) {
    for (const v of Object.keys(compose.volumes ?? {})) podman(['volume', 'rm', '--force', `${project}_${v}`]);
    log('volumes removed');
  }
}

function status() {
  let ok = true;
  for (const name of startOrder()) {
    const st = state(name);
    const h = st === 'running' ? (healthy(name) ? 'healthy' : 'unhealthy') : '';
    if (h !== 'healthy') ok = false;
    process.stdout.write(`${name.padEnd(14)} ${st}${h ? ` ${h}` : ''}\n`);
  }
  return ok;
}

const verb = process.argv[2];
try {
  if (verb === 'up') up(process.argv.slice(3));
  else if (verb === 'down') down(false);
  else if (verb === 'down-volumes') down(true);
  else if (verb === 'status') process.exitCode = status() ? 0 : 1;
  else if (verb === 'args') for (const n of startOrder()) process.stdout.write(`${n}: podman ${runArgs(n).join(' ')}\n`);
  else throw new Error('usage: compose-run.mjs up|down|down-volumes|status|args');
} catch (error) {
  log(`error: ${error.message}`);
  process.exitCode = 1;
}
