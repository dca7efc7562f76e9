// Starts the real relay binary serving the built app, on a free loopback port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RELAY_BIN = process.env.RELAY_BIN ?? path.join(root, 'target', 'release', 'relay');
export const DIST = process.env.DIST_DIR ?? path.join(root, 'dist');

/** A running relay. `url(room, params)` builds a room link. */
export class Relay {
  /** `netns`: run it inside that network namespace (the NAT lab's internet); `log`: which
   * lines it writes (`RUST_LOG`; warnings unless the environment says otherwise). */
  static async start({ listen = '127.0.0.1:0', args = [], netns, log } = {}) {
    // Inside e2e/netns.sh, media for SFU rooms goes to the namespace's own veth address.
    const media = process.env.E2E_MEDIA_IP && !netns ? ['--media-listen', `${process.env.E2E_MEDIA_IP}:0`] : [];
    const command = [RELAY_BIN, '--listen', listen, '--static-dir', DIST, ...media, ...args];
    if (netns) command.unshift('ip', 'netns', 'exec', netns);
    const child = spawn(command[0], command.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: log ?? process.env.RUST_LOG ?? 'relay=warn' },
    });
    const relay = new Relay(child);
    const address = await new Promise((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error('relay did not start within 10 s')), 10_000);
      child.stdout.on('data', (chunk) => {
        buffered += chunk;
        relay.log += chunk;
        const match = buffered.match(/(https?):\/\/([0-9.:[\]]+)\//);
        if (match) {
          clearTimeout(timer);
          relay.scheme = match[1];
          resolve(match[2]);
        }
      });
      child.stderr.on('data', (chunk) => { relay.log += chunk; });
      child.once('exit', (code) => reject(new Error(`relay exited early with ${code}: ${relay.log}`)));
    });
    relay.address = address;
    return relay;
  }

  constructor(child) {
    this.child = child;
    this.log = '';
    this.address = '';
    this.scheme = 'http';
  }

  get origin() {
    // The origin a browser names: the scheme's default port left out.
    const defaultPort = this.scheme === 'https' ? ':443' : ':80';
    const host = this.address.endsWith(defaultPort) ? this.address.slice(0, -defaultPort.length) : this.address;
    return `${this.scheme}://${host}`;
  }

  url(room, params = {}) {
    const query = new URLSearchParams({ room, ...params });
    return `${this.origin}/?${query}`;
  }

  async stop() {
    if (process.env.E2E_RELAY_LOG) {
      const { appendFileSync } = await import('node:fs');
      appendFileSync(process.env.E2E_RELAY_LOG, this.log);
    }
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
