// Where the machine's CPU goes while a suite runs: per program (Chromium, Firefox, the relay, the
// load generator, the test runner), summed over all their processes, read from /proc. A suite
// prints this at its end so that a slow or failing run says whether the machine was the limit,
// and which program used it, instead of leaving that to guesswork.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The program a process belongs to, by the executable it runs. */
export function programOf(pid) {
  let exe;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
  const base = path.basename(exe).replace(/ \(deleted\)$/, '');
  if (base === 'chromium' || base === 'chrome' || base === 'chrome_crashpad_handler') return 'chromium';
  if (base.startsWith('firefox')) return 'firefox';
  if (base === 'relay' || base === 'loadgen' || base === 'node') return base;
  return null;
}

/** CPU ticks (user + system) this process has used so far. */
function ticksOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** Busy and total ticks of the whole machine, from the first line of /proc/stat. */
function machineTicks() {
  const [, ...numbers] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const values = numbers.map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = values[3] + (values[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/**
 * Starts sampling. `stop()` ends it and returns CPU seconds per program plus the machine's load;
 * `summary()` formats that as one line.
 */
export function watchCpu({ interval = 500 } = {}) {
  const started = Date.now();
  const machineStart = machineTicks();
  const firstSeen = new Map(); // pid -> ticks when first seen (processes started before us count from then)
  const lastSeen = new Map(); // pid -> { program, ticks }
  const sample = () => {
    let pids;
    try {
      pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    } catch {
      return;
    }
    for (const pid of pids) {
      const known = lastSeen.get(pid);
      const program = known?.program ?? programOf(pid);
      if (!program) continue;
      const ticks = ticksOf(pid);
      if (ticks === null) continue;
      // A process that started after watching began counts from zero.
      if (!firstSeen.has(pid)) firstSeen.set(pid, 0);
      lastSeen.set(pid, { program, ticks });
    }
  };
  // Processes running before the watch starts count only from now on.
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const program = programOf(pid);
    const ticks = program && ticksOf(pid);
    if (program && ticks !== null) {
      firstSeen.set(pid, ticks);
      lastSeen.set(pid, { program, ticks });
    }
  }
  const timer = setInterval(sample, interval);
  timer.unref();
  let result = null;
  return {
    stop() {
      if (result) return result;
      sample();
      clearInterval(timer);
      const machineEnd = machineTicks();
      const seconds = (Date.now() - started) / 1000;
      const programs = {};
      for (const [pid, { program, ticks }] of lastSeen) {
        programs[program] = (programs[program] ?? 0) + (ticks - (firstSeen.get(pid) ?? 0)) / TICKS_PER_SECOND;
      }
      const busy = machineEnd.busy - machineStart.busy;
      const total = machineEnd.total - machineStart.total;
      result = { seconds, programs, machineBusy: total > 0 ? busy / total : 0 };
      return result;
    },
    /** One line: wall time, how busy the machine was, and each program's share of one core. */
    summary() {
      const { seconds, programs, machineBusy } = this.stop();
      const parts = Object.entries(programs)
        .sort((a, b) => b[1] - a[1])
        .map(([name, cpu]) => `${name} ${cpu.toFixed(0)} s (${((100 * cpu) / seconds).toFixed(0)} % of a core)`);
      return `cpu over ${seconds.toFixed(0)} s: machine ${(100 * machineBusy).toFixed(0)} % busy; ${parts.join(', ')}`;
    },
  };
}

/**
 * Called inside a `describe`: watches the CPU from its first hook to its last and prints the
 * summary line (as a `#` diagnostic in the test output).
 */
export function reportCpu() {
  let watch;
  before(() => { watch = watchCpu(); });
  after(() => { if (watch) console.log(watch.summary()); });
}
