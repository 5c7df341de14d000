import { Counter, Gauge, type Registry } from 'prom-client';
import type { CertificateInfo } from './tls-material.js';

export interface TlsMetrics {
  /** The certificate now served (start-up, good reload). */
  serving(certificate: CertificateInfo): void;
  reloaded(result: 'ok' | 'failed'): void;
}

export function createTlsMetrics(registry: Registry): TlsMetrics {
  const expiry = new Gauge({
    name: 'unicop_tls_certificate_expiry_timestamp_seconds',
    help: "notAfter of the certificate the HTTPS listener serves, as Unix time (alert on it minus time() before it lapses); one series, the current certificate's. Absent over plain HTTP.",
    labelNames: ['subject', 'serial'],
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'unicop_tls_reloads_total',
    help: 'HTTPS certificate reloads on SIGHUP: ok (new handshakes get the new certificate, key and client CA) or failed (the previous ones stay; the log names the file and the code).',
    labelNames: ['result'],
    registers: [registry],
  });
  return {
    serving: (certificate) => {
      // Labels name the certificate, so the old series goes: a lapsed certificate no longer served must not alert.
      expiry.reset();
      expiry.set({ subject: certificate.subject, serial: certificate.serial }, Math.floor(certificate.notAfter.getTime() / 1000));
      // Both results exported from the start, so a rate of failures has a series to read before the first one.
      reloads.inc({ result: 'ok' }, 0);
      reloads.inc({ result: 'failed' }, 0);
    },
    reloaded: (result) => reloads.inc({ result }),
  };
}
