/** The program's settings, from the environment scripts/idp passes (the only reader of process.env). */
export interface Settings {
  dataDir: string;
  host: string;
  port: number;
  issuer: string;
  audience: string;
  /** NetBox base URLs whose /oauth/complete/oidc/ may receive a code. */
  netboxUrls: string[];
}

export function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const dataDir = env.IDP_DATA_DIR;
  if (!dataDir) throw new Error('IDP_DATA_DIR is required');
  const port = Number(env.IDP_PORT ?? '9400');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`IDP_PORT must be a port number, got '${env.IDP_PORT}'`);
  const host = env.IDP_HOST ?? '127.0.0.1';
  const netboxPort = env.NETBOX_PORT ?? '8000';
  const audience = env.IDP_AUDIENCE ?? 'urn:unicop:api';
  if (!URL.canParse(audience)) throw new Error(`IDP_AUDIENCE must be an absolute URI (RFC 8707), got '${audience}'`);
  return Object.freeze({
    dataDir,
    host,
    port,
    issuer: (env.IDP_ISSUER ?? `http://${host}:${port}`).replace(/\/+$/, ''),
    audience,
    netboxUrls: (env.IDP_NETBOX_URL ?? `http://127.0.0.1:${netboxPort},http://localhost:${netboxPort}`)
      .split(',')
      .map((u) => u.trim().replace(/\/+$/, ''))
      .filter(Boolean),
  });
}
