// HEALTHCHECK of the receiver image: GET /healthz on the port the receiver listens on (the image has no curl).
// HOST 0.0.0.0 (the image's default) is reached through loopback; any other HOST is asked directly.
const host = !process.env.HOST || process.env.HOST === '0.0.0.0' ? '127.0.0.1' : process.env.HOST;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${process.env.PORT ?? '8080'}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2500) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
