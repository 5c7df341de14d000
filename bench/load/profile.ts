/**
 * Summarizes a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per function, self time
 * per package/file, and inclusive time of the receiver's own functions. Also a command:
 * `node --import tsx bench/load/profile.ts <file.cpuprofile> [top] [fromUs toUs]`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Hotspot {
  name: string;
  where: string;
  ms: number;
  /** Share of the busy time (everything but `(idle)`), percent. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  topSelf: Hotspot[];
  byPackage: Hotspot[];
  topInclusive: Hotspot[];
  /** The part of the profile summarized (monotonic clock, microseconds); the whole profile when absent. */
  window?: { fromUs: number; toUs: number };
}

const VIRTUAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a frame lives: a package, a receiver file, node internals, or V8 itself. */
function placeOf(url: string): string {
  if (url === '') return '(V8/native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return `node_modules/${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith('node:')) return path.split('/').slice(0, 2).join('/');
  const dist = path.indexOf('receiver/dist/');
  if (dist >= 0) return path.slice(dist);
  return path;
}

function frameKey(f: CallFrame): { name: string; where: string } {
  const name = f.functionName || '(anonymous)';
  if (VIRTUAL.has(name) && f.url === '') return { name, where: '' };
  const place = placeOf(f.url);
  return { name, where: f.url === '' ? place : `${place}:${f.lineNumber + 1}` };
}

/**
 * `window` (microseconds of the monotonic clock, the one of `process.hrtime` and of the profile's
 * timestamps) keeps only the samples taken inside it, e.g. the load phase without start-up.
 */
export function summarizeProfile(file: string, top = 15, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const deltas = profile.timeDeltas;
  const from = window?.fromUs ?? -Infinity;
  const to = window?.toUs ?? Infinity;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t < from || t > to) continue;
    // a sample lasts until the next one
    const us = deltas[i + 1] ?? 0;
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, us));
  }
  const wallUs = Math.min(to, profile.endTime) - Math.max(from, profile.startTime);
  let idleUs = 0;
  const fn = new Map<string, Hotspot>();
  const pkg = new Map<string, Hotspot>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { name, where } = frameKey(node.callFrame);
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    const k = `${name}@${where}`;
    const h = fn.get(k) ?? { name, where, ms: 0, pct: 0 };
    h.ms += us / 1000;
    fn.set(k, h);
    const place = VIRTUAL.has(name) ? name : placeOf(node.callFrame.url);
    const p = pkg.get(place) ?? { name: place, where: '', ms: 0, pct: 0 };
    p.ms += us / 1000;
    pkg.set(place, p);
  }
  let busyUs = 0;
  for (const [id, us] of selfUs) if (byId.get(id)?.callFrame.functionName !== '(idle)') busyUs += us;
  const busyMs = busyUs / 1000;

  // inclusive time of the receiver's own functions (a function counted once per stack)
  const inclusive = new Map<string, Hotspot>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const [id, us] of selfUs) {
    const counted = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node || !node.callFrame.url.includes('receiver/dist/')) continue;
      const { name, where } = frameKey(node.callFrame);
      const k = `${name}@${where}`;
      if (counted.has(k)) continue;
      counted.add(k);
      const h = inclusive.get(k) ?? { name, where, ms: 0, pct: 0 };
      h.ms += us / 1000;
      inclusive.set(k, h);
    }
  }

  const ranked = (m: Map<string, Hotspot>, n: number): Hotspot[] =>
    [...m.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, n)
      .map((h) => ({ ...h, pct: busyMs > 0 ? (100 * h.ms) / busyMs : 0 }));
  return {
    file,
    wallMs: wallUs / 1000,
    busyMs,
    idleMs: idleUs / 1000,
    topSelf: ranked(fn, top),
    byPackage: ranked(pkg, 12),
    topInclusive: ranked(inclusive, 12),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const line = (h: Hotspot): string => `  ${h.pct.toFixed(1).padStart(5)} %  ${h.ms.toFixed(0).padStart(7)} ms  ${h.name}${h.where ? `  ${h.where}` : ''}`;
  return [
    `${s.file}: wall ${(s.wallMs / 1000).toFixed(1)} s, busy ${(s.busyMs / 1000).toFixed(1)} s, idle ${(s.idleMs / 1000).toFixed(1)} s`,
    'top self time (share of busy time):',
    ...s.topSelf.map(line),
    'self time by package / file:',
    ...s.byPackage.map(line),
    'inclusive time of receiver functions:',
    ...s.topInclusive.map(line),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top, fromUs, toUs] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node --import tsx bench/load/profile.ts <file.cpuprofile> [top] [fromUs toUs]\n');
    process.exit(2);
  }
  const window = fromUs && toUs ? { fromUs: Number(fromUs), toUs: Number(toUs) } : undefined;
  process.stdout.write(`${formatProfile(summarizeProfile(file, Number(top ?? 20), window))}\n`);
}
