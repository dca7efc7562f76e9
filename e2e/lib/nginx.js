// Debian's nginx as a plain static web server (no proxy, no rewrite rules), run by a suite on
// addresses of its own inside the suite's network namespace and stopped by it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/** Whether something accepts TCP connections on `host:port`. */
function accepts(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

export class Nginx {
  /** Serves each of `sites` (`{ listen: 'IP:PORT', root, cert, key, directives }`, where
   * `directives` are lines for its `server` block) over HTTPS. */
  static async start(sites) {
    const prefix = mkdtempSync(path.join(tmpdir(), 'tp-nginx-'));
    const temp = path.join(prefix, 'temp');
    mkdirSync(temp);
    const server = ({ listen, root, cert, key, directives = [] }) => `
  server {
    listen ${listen} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    root ${root};
${directives.map((d) => `    ${d}`).join('\n')}
  }`;
    const conf = `
daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log stderr warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${temp}/${t};`).join('\n')}
${sites.map(server).join('\n')}
}
`;
    writeFileSync(path.join(prefix, 'nginx.conf'), conf);
    const child = spawn(NGINX, ['-e', 'stderr', '-p', prefix, '-c', path.join(prefix, 'nginx.conf')],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const nginx = new Nginx(child, prefix);
    child.stdout.on('data', (c) => { nginx.log += c; });
    child.stderr.on('data', (c) => { nginx.log += c; });
    const deadline = Date.now() + 10_000;
    for (const { listen } of sites) {
      const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
      while (!(await accepts(host, port))) {
        if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${nginx.log}`);
        if (Date.now() > deadline) throw new Error(`nginx did not listen on ${listen} within 10 s: ${nginx.log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return nginx;
  }

  constructor(child, prefix) {
    this.child = child;
    this.prefix = prefix;
    this.log = '';
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.prefix, { recursive: true, force: true });
  }
}
