// The relay thread's entry when the receiver runs from its TypeScript sources (tests: `--import tsx`):
// Node 20 does not carry tsx's loader hooks into a worker thread, so they are registered here first.
// The compiled receiver starts dist/relay-worker.js directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./relay-worker.ts', import.meta.url).href);
