"""Certificates for the plugin's TLS tests, made with the openssl command line in a temporary directory: a private
CA that signs a server certificate for 127.0.0.1 (what the https receiver stub presents), and a second, unrelated CA
(the wrong one). Nothing is committed: every test class makes its own and removes it."""

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ('TlsMaterial', 'make_tls_material')

# EC keys: generated in milliseconds (RSA would cost the test run seconds for nothing it checks).
_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
# What a verifier expects of a server certificate (Python's ssl, as requests uses it): the name as a SAN, and the
# key identifiers that chain it to its CA.
_SERVER_EXTENSIONS = """subjectAltName = IP:127.0.0.1, DNS:localhost
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


@dataclass(frozen=True)
class TlsMaterial:
    directory: Path
    ca: Path  # the CA that signed `cert`
    other_ca: Path  # a CA that signed nothing here
    cert: Path
    key: Path

    def remove(self):
        shutil.rmtree(self.directory, ignore_errors=True)


def _openssl(*args, cwd):
    subprocess.run(['openssl', *args], cwd=cwd, check=True, capture_output=True)


def _make_ca(name, cwd):
    _openssl(
        'req', '-x509', *_KEY, '-keyout', f'{name}.key', '-out', f'{name}.pem', '-days', '2',
        '-subj', f'/CN=UNICOP test {name}',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        cwd=cwd,
    )  # fmt: skip


def make_tls_material():
    directory = Path(tempfile.mkdtemp(prefix='unicop-tls-'))
    _make_ca('ca', directory)
    _make_ca('other-ca', directory)
    (directory / 'server.ext').write_text(_SERVER_EXTENSIONS)
    _openssl('req', *_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1', cwd=directory)
    _openssl(
        'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext',
        cwd=directory,
    )  # fmt: skip
    return TlsMaterial(
        directory=directory,
        ca=directory / 'ca.pem',
        other_ca=directory / 'other-ca.pem',
        cert=directory / 'server.pem',
        key=directory / 'server.key',
    )
