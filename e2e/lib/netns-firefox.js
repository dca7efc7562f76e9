// Runs Firefox inside a network namespace for puppeteer-core.
//
// Puppeteer starts Firefox, reads "WebDriver BiDi listening on ws://127.0.0.1:PORT" from its
// stderr and connects there. Inside a namespace of the NAT lab that address is the namespace's
// own loopback, which the test process cannot reach. So this stands in for the Firefox binary:
// it starts the real one in the namespace and bridges its port through a unix socket (file
// system paths are not namespaced) to the same port number on the test process's loopback.
//
//   node netns-firefox.js NAMESPACE FIREFOX ARGS...      (what puppeteer runs)
//   node netns-firefox.js --inner SOCKET PORT            (the half inside the namespace)
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';

function pipe(a, b) {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

if (process.argv[2] === '--inner') {
  const [socket, port] = process.argv.slice(3);
  rmSync(socket, { force: true });
  net.createServer((c) => pipe(c, net.connect(Number(port), '127.0.0.1'))).listen(socket, () => {
    process.stdout.write('ready\n');
  });
} else {
  const [ns, firefox, ...args] = process.argv.slice(2);
  const socket = `/tmp/tp-firefox-${process.pid}.sock`;
  const child = spawn('ip', ['netns', 'exec', ns, firefox, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
  let inner;
  const stop = () => {
    inner?.kill();
    child.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  child.on('exit', (code, signal) => {
    inner?.kill();
    rmSync(socket, { force: true });
    process.exit(code ?? (signal ? 1 : 0));
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    const found = line.match(/^WebDriver BiDi listening on ws:\/\/127\.0\.0\.1:(\d+)(.*)$/);
    if (!found) {
      process.stderr.write(`${line}\n`);
      return;
    }
    inner = spawn('ip', ['netns', 'exec', ns, process.execPath, new URL(import.meta.url).pathname, '--inner', socket, found[1]],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: inner.stdout }).once('line', () => {
      // The same port number on our side: Firefox checks the Host header against its own.
      const outer = net.createServer((c) => pipe(c, net.connect(socket)));
      outer.listen(Number(found[1]), '127.0.0.1', () => {
        process.stderr.write(`WebDriver BiDi listening on ws://127.0.0.1:${outer.address().port}${found[2]}\n`);
      });
    });
  });
}
