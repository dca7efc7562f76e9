// A certificate authority made for one suite, as a town's own CA would be, and certificates
// from it for the suite's servers. Browsers trust it through `trust: ca` (lib/browsers.js).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(...args) {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

export class TestCa {
  /** A new authority in a temporary folder; `remove()` deletes it with every certificate. */
  constructor(name = 'Treffpunkt test CA') {
    this.dir = mkdtempSync(path.join(tmpdir(), 'tp-ca-'));
    this.ca = this.file('ca.pem');
    openssl('req', '-x509', ...EC, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
      '-keyout', this.file('ca.key'), '-out', this.ca);
  }

  file(name) {
    return path.join(this.dir, name);
  }

  /** A server certificate for `names` (host names, or IP addresses), valid for a day:
   * `{ cert, key }` paths in PEM. */
  issue(label, names) {
    const [cert, key, csr, ext] = ['cert.pem', 'key.pem', 'csr', 'ext'].map((f) => this.file(`${label}-${f}`));
    const ip = /^[0-9.]+$|:/;
    const san = names.map((n) => (ip.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
    openssl('req', ...EC, '-subj', `/CN=${names[0]}`, '-keyout', key, '-out', csr);
    writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    openssl('x509', '-req', '-in', csr, '-CA', this.ca, '-CAkey', this.file('ca.key'),
      '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', cert);
    return { cert, key };
  }

  remove() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
