/* global fetch */
// scripts/snapshot: POST /v1/snapshots on a running receiver, then GET /v1/snapshots/{id} every second
// until it ended. Progress goes to stderr; the last stdout line is the final answer as JSON.
const url = (process.env.UNICOP_RECEIVER_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const token = process.env.UNICOP_RECEIVER_TOKEN;
if (!token) {
  console.error('snapshot: set UNICOP_RECEIVER_TOKEN (a token with snapshots:run)');
  process.exit(1);
}
const headers = { authorization: `Bearer ${token}` };

async function call(method, path) {
  const res = await fetch(`${url}${path}`, { method, headers });
  return { status: res.status, body: await res.json() };
}

const started = await call('POST', '/v1/snapshots');
if (started.status !== 202) {
  console.error(`snapshot: ${started.status} ${JSON.stringify(started.body)}`);
  process.exit(1);
}
const id = started.body.snapshotId;
console.error(`snapshot ${id} started`);
for (;;) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const { status, body } = await call('GET', `/v1/snapshots/${id}`);
  if (status !== 200) {
    console.error(`snapshot: ${status} ${JSON.stringify(body)}`);
    process.exit(1);
  }
  if (body.state === 'running') {
    console.error(`snapshot ${id}: ${body.progress?.objectType ?? '-'} after id ${body.progress?.lastId ?? 0}, ${body.counts.read} read`);
    continue;
  }
  console.log(JSON.stringify(body));
  process.exit(body.state === 'completed' ? 0 : 1);
}
