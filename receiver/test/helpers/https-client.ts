import { readFileSync } from 'node:fs';
import { request, type Agent } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';

/** What a TLS client trusts and presents: file paths, read once. */
export interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function clientTls(ca: string, identity?: { cert: string; key: string }): ClientTls {
  return { ca: readFileSync(ca), ...(identity && { cert: readFileSync(identity.cert), key: readFileSync(identity.key) }) };
}

export interface HttpsAnswer {
  status: number;
  body: string;
  /** The connection the answer came on (the same object across keep-alive requests). */
  socket: TLSSocket;
  /** The serial of the certificate that connection was served. */
  serial: string;
}

/**
 * One HTTPS request with node:https (global fetch takes no CA or client certificate). With `agent`,
 * the agent's keep-alive connections and TLS settings are used; without, a connection of its own.
 */
export function httpsRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer; agent?: Agent; tls?: ClientTls },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ...(options.agent ? { agent: options.agent } : { agent: false, ...options.tls }) },
      (res) => {
        // Taken now: a keep-alive agent detaches the socket from the response at its end.
        const socket = res.socket as TLSSocket;
        const serial = socket.getPeerCertificate().serialNumber.toUpperCase();
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), socket, serial }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The serial of the certificate a brand-new connection (no session to resume) is served. */
export function servedSerial(url: string, tls: ClientTls): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ...tls }, () => {
      const serial = socket.getPeerCertificate().serialNumber.toUpperCase();
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}
