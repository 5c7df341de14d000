import { Worker, MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const flag = new Int32Array(new SharedArrayBuffer(4));
const w = new Worker(new URL('../src/store/postgres-worker.ts', import.meta.url), { workerData: { url: process.env.URL, port: port2, flag, timeoutMs: 5000 }, transferList: [port2], execArgv: ['--import', 'tsx'] });
w.on('error', (e) => console.log('worker error', e));
w.on('exit', (c) => console.log('exit', c));
port1.on('message', (m) => { console.log('answer', m); process.exit(0); });
port1.postMessage({ id: 1, op: 'query', sql: 'SELECT 1 AS x', params: [] });
setTimeout(() => console.log('nothing after 5 s'), 5000);
