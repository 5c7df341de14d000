import { readFileSync } from 'node:fs';
import type { SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { Config } from '../../config.js';
import { UnicopError } from '../../errors.js';

/**
 * How every Kafka client of the receiver connects: TLS options and SASL credentials, read once at
 * start (certificates from their files). Plain data, so it crosses into the relay thread as it is.
 */
export interface KafkaSecurity {
  ssl?: ConnectionOptions | true;
  sasl?: SASLOptions;
}

/** kafkajs' mechanism names for Kafka's (`KAFKA_SASL_MECHANISM`). */
const MECHANISMS = { PLAIN: 'plain', 'SCRAM-SHA-256': 'scram-sha-256', 'SCRAM-SHA-512': 'scram-sha-512' } as const;

/**
 * The TLS and SASL options of `KAFKA_SECURITY_PROTOCOL` and its settings (config.ts has checked
 * that they fit together). A certificate file unreadable now (changed since the config was loaded)
 * is `UNICOP_CONFIG_INVALID` naming the file, never quoting it.
 */
export function kafkaSecurity(config: Config): KafkaSecurity {
  const protocol = config.kafkaSecurityProtocol;
  const security: KafkaSecurity = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const tls: ConnectionOptions = {};
    // A CA file replaces Node's public CAs: a private cluster's CA alone decides whom to trust.
    if (config.kafkaSslCaFile) tls.ca = [pem('KAFKA_SSL_CA_FILE', config.kafkaSslCaFile)];
    if (config.kafkaSslCertFile) tls.cert = pem('KAFKA_SSL_CERT_FILE', config.kafkaSslCertFile);
    if (config.kafkaSslKeyFile) tls.key = pem('KAFKA_SSL_KEY_FILE', config.kafkaSslKeyFile);
    if (config.kafkaSslKeyPassword) tls.passphrase = config.kafkaSslKeyPassword;
    security.ssl = Object.keys(tls).length > 0 ? tls : true;
  }
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const { kafkaSaslMechanism: mechanism, kafkaSaslUsername: username, kafkaSaslPassword: password } = config;
    if (!mechanism || !username || !password) {
      throw new UnicopError(
        'UNICOP_CONFIG_INVALID',
        `KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`,
      );
    }
    security.sasl = { mechanism: MECHANISMS[mechanism], username, password };
  }
  return security;
}

function pem(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new UnicopError('UNICOP_CONFIG_INVALID', `${name}: cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, {
      details: [{ pointer: name, message: `cannot read ${path}` }],
    });
  }
}
