import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { isUnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { TlsMetrics } from './tls-metrics.js';
import { readTlsMaterial, type CertificateInfo, type TlsFiles, type TlsMaterial } from './tls-material.js';

export interface ListenerDeps {
  /** The express app (`buildApp`), or any request handler. */
  handler: RequestListener;
  /** Null: plain HTTP. `material` was read from `files` at start-up (before the store opened). */
  tls: { files: TlsFiles; material: TlsMaterial } | null;
  metrics: TlsMetrics;
  log: Logger;
}

export interface Listener {
  server: Server;
  scheme: 'http' | 'https';
  /** The certificate served now; null over plain HTTP. */
  certificate(): CertificateInfo | null;
  /**
   * Rereads the TLS files (main.ts calls it on SIGHUP): true when new handshakes get them, false
   * when they were refused (the previous ones stay), null over plain HTTP.
   */
  reloadTls(): boolean | null;
}

/**
 * The server the receiver listens with: HTTP, or HTTPS only when a certificate is configured. A
 * reload swaps the secure context with `setSecureContext`, which only new handshakes use
 * (https://nodejs.org/api/tls.html#serversetsecurecontextoptions): requests in flight and keep-alive
 * connections carry on with the certificate they were opened with.
 */
export function createListener(deps: ListenerDeps): Listener {
  const { handler, tls, metrics, log } = deps;
  if (!tls) {
    return { server: createHttpServer(handler), scheme: 'http', certificate: () => null, reloadTls: () => null };
  }
  const verifyClients = tls.files.clientCaFile !== null;
  // Client verification is a server option, fixed at start: a reload changes the CA, not whether one is asked for.
  const server: HttpsServer = createHttpsServer({ ...tls.material.context, requestCert: verifyClients, rejectUnauthorized: verifyClients }, handler);
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket) => {
    log.debug({ code: error.code, remoteAddress: socket.remoteAddress }, 'TLS handshake refused');
  });
  let current = tls.material.certificate;
  serving(current, log, 'serving TLS certificate');
  metrics.serving(current);

  return {
    server,
    scheme: 'https',
    certificate: () => current,
    reloadTls() {
      let next: TlsMaterial;
      try {
        next = readTlsMaterial(tls.files);
        server.setSecureContext(next.context);
      } catch (error) {
        const code = isUnicopError(error) ? error.code : 'UNICOP_TLS_CERT_INVALID';
        const details = isUnicopError(error) ? error.details : [];
        metrics.reloaded('failed');
        log.error({ code, details, serial: current.serial }, 'TLS reload failed; the previous certificate stays in use');
        return false;
      }
      current = next.certificate;
      metrics.reloaded('ok');
      metrics.serving(current);
      serving(current, log, 'TLS certificate reloaded; new connections get it');
      return true;
    },
  };
}

function serving(certificate: CertificateInfo, log: Logger, message: string): void {
  const { subject, issuer, serial, notAfter } = certificate;
  log.info({ subject, issuer, serial, notAfter: notAfter.toISOString() }, message);
  if (notAfter.getTime() <= Date.now()) log.warn({ subject, serial, notAfter: notAfter.toISOString() }, 'the TLS certificate served has expired');
}
