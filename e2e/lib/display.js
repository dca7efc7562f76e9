// A virtual X display for browsers that must show a real window: headless Firefox has no
// screen, so its getDisplayMedia finds nothing to capture ("NotFoundError"), while headful
// Firefox on an Xvfb display offers that display's screen ("Primary Monitor"), and with
// media.navigator.permission.disabled it skips the picker. One display serves the whole test
// process and ends with it.
import { spawn } from 'node:child_process';

let started;

/** The `DISPLAY` value of this process's virtual display, started on first use. */
export function virtualDisplay() {
  started ??= new Promise((resolve, reject) => {
    // -displayfd: Xvfb picks a free display number and writes it to that descriptor once it
    // accepts connections. No TCP: only local sockets.
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x720x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let errors = '';
    let number = '';
    xvfb.stderr.on('data', (d) => { errors = (errors + d).slice(-2000); });
    xvfb.stdio[3].on('data', (d) => {
      number += d;
      if (number.includes('\n')) resolve(`:${number.trim()}`);
    });
    xvfb.on('error', (e) => reject(new Error(`Xvfb did not start (scripts/setup.sh installs it): ${e.message}`)));
    xvfb.on('exit', (code) => reject(new Error(`Xvfb ended with ${code}: ${errors}`)));
    xvfb.unref();
    xvfb.stdio[3].unref?.();
    xvfb.stderr.unref?.();
    process.on('exit', () => xvfb.kill());
  });
  return started;
}
