import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Config } from '../config.js';
import { UnicopError, type ErrorCode, type ErrorDetail } from '../errors.js';

/** Where the listener's certificate, key and client CA live; reread from the same paths on SIGHUP. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile: string | null;
  /** From the environment, so fixed for the life of the process. */
  keyPassword: string | null;
}

/** What an operator (and the expiry gauge) needs to know about the certificate being served. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** Upper-case hex, as OpenSSL prints it. */
  serial: string;
  notAfter: Date;
}

/** Files read and checked: the options of a secure context, and the served certificate described. */
export interface TlsMaterial {
  context: SecureContextOptions;
  certificate: CertificateInfo;
}

/** The listener's TLS files from the configuration; null when it speaks plain HTTP. */
export function tlsFiles(config: Config): TlsFiles | null {
  if (config.tlsCertFile === undefined || config.tlsKeyFile === undefined) return null;
  return {
    certFile: config.tlsCertFile,
    keyFile: config.tlsKeyFile,
    clientCaFile: config.tlsClientCaFile ?? null,
    keyPassword: config.tlsKeyPassword ?? null,
  };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Reads and checks the files: every one readable, the certificate and CA bundle PEM certificates,
 * the key readable (with its password) and the certificate's own. Errors name the variable and the
 * file, never their content: the messages OpenSSL gives say what failed, not what the key holds.
 */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const [cert, key, ca] = readAll([
    ['UNICOP_TLS_CERT_FILE', files.certFile],
    ['UNICOP_TLS_KEY_FILE', files.keyFile],
    ...(files.clientCaFile === null ? [] : [['UNICOP_TLS_CLIENT_CA_FILE', files.clientCaFile] as const]),
  ]);
  const leaf = parseCertificates('UNICOP_TLS_CERT_FILE', files.certFile, cert!)[0]!;
  if (ca !== undefined) parseCertificates('UNICOP_TLS_CLIENT_CA_FILE', files.clientCaFile!, ca);
  const privateKey = parseKey(files, key!);
  if (!leaf.checkPrivateKey(privateKey)) {
    fail(
      'UNICOP_TLS_KEY_MISMATCH',
      'UNICOP_TLS_KEY_FILE',
      `the key in ${files.keyFile} does not belong to the first certificate in ${files.certFile} (the server's own comes first, then its intermediates)`,
    );
  }
  const context: SecureContextOptions = {
    cert,
    key,
    ...(files.keyPassword !== null && { passphrase: files.keyPassword }),
    ...(ca !== undefined && { ca }),
  };
  try {
    // What the server will do with them; catches what the checks above do not (an unsupported key type).
    createSecureContext(context);
  } catch (cause) {
    fail('UNICOP_TLS_CERT_INVALID', 'UNICOP_TLS_CERT_FILE', `OpenSSL refused ${files.certFile} with ${files.keyFile}: ${opensslReason(cause)}`);
  }
  return { context, certificate: describeCertificate(leaf) };
}

export function describeCertificate(certificate: X509Certificate): CertificateInfo {
  return {
    subject: certificate.subject.replace(/\n/g, ', '),
    issuer: certificate.issuer.replace(/\n/g, ', '),
    serial: certificate.serialNumber.toUpperCase(),
    notAfter: new Date(certificate.validTo),
  };
}

/** Every unreadable file in one error, so one failed start names all of them. */
function readAll(entries: ReadonlyArray<readonly [string, string]>): Buffer[] {
  const problems: ErrorDetail[] = [];
  const contents = entries.map(([variable, path]) => {
    try {
      return readFileSync(path);
    } catch (cause) {
      problems.push({ pointer: variable, message: `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}` });
      return Buffer.alloc(0);
    }
  });
  if (problems.length > 0) {
    throw new UnicopError('UNICOP_TLS_FILE_UNREADABLE', `TLS file unreadable: ${problems.map((p) => p.message).join('; ')}`, { details: problems });
  }
  return contents;
}

function parseCertificates(variable: string, path: string, content: Buffer): X509Certificate[] {
  const blocks = content.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) fail('UNICOP_TLS_CERT_INVALID', variable, `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (cause) {
      return fail('UNICOP_TLS_CERT_INVALID', variable, `certificate ${i + 1} in ${path} cannot be parsed: ${opensslReason(cause)}`);
    }
  });
}

function parseKey(files: TlsFiles, content: Buffer): KeyObject {
  try {
    // An empty passphrase rather than none: without one, OpenSSL may ask on the terminal.
    return createPrivateKey({ key: content, format: 'pem', passphrase: files.keyPassword ?? '' });
  } catch (cause) {
    const hint = files.keyPassword === null ? ' (an encrypted key needs UNICOP_TLS_KEY_PASSWORD)' : ' (or UNICOP_TLS_KEY_PASSWORD is wrong)';
    return fail('UNICOP_TLS_KEY_INVALID', 'UNICOP_TLS_KEY_FILE', `no usable PEM private key in ${files.keyFile}${hint}: ${opensslReason(cause)}`);
  }
}

/** OpenSSL's reason ("key values mismatch", "bad decrypt"): names the failure, quotes nothing of the input. */
function opensslReason(cause: unknown): string {
  const error = cause as { reason?: string; code?: string; message?: string };
  return error.reason ?? error.code ?? 'refused';
}

function fail(code: ErrorCode, variable: string, message: string): never {
  throw new UnicopError(code, message, { details: [{ pointer: variable, message }] });
}
