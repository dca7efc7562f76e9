// The kernel's UDP counters of the network namespace the tests run in (/proc/net/snmp). A
// datagram dropped because its receiver did not read its socket in time shows up as a receive
// buffer error: that tells a machine too busy to keep up apart from a relay that loses packets.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

import { programOf } from './cpu.js';

/** UDP counters by name: InDatagrams, RcvbufErrors, SndbufErrors, ... */
export function udpCounters() {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
}

/** What changed between two readings, as one line. */
export function udpSummary(before, after) {
  const delta = (name) => (after[name] ?? 0) - (before[name] ?? 0);
  return `udp: ${delta('InDatagrams')} datagrams received, ${delta('OutDatagrams')} sent, `
    + `${delta('RcvbufErrors')} dropped because the receiver's buffer was full, `
    + `${delta('SndbufErrors')} because the sender's was`;
}

/**
 * Datagrams the kernel dropped at each program's open UDP sockets because they were not read in
 * time (the `drops` column of /proc/net/udp, mapped to processes through their open sockets).
 * Sockets already closed are not counted: read this while the call still runs.
 */
export function udpDropsByProgram() {
  const drops = new Map(); // socket inode -> drops
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 13) drops.set(f[9], Number(f[12]));
    }
  }
  const byProgram = {};
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let fds;
    try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      let target;
      try { target = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
      const inode = target.match(/^socket:\[(\d+)\]$/)?.[1];
      if (!inode || !drops.has(inode)) continue;
      const program = programOf(pid) ?? 'other';
      byProgram[program] = (byProgram[program] ?? 0) + drops.get(inode);
      drops.delete(inode); // a socket shared by several processes counts once
    }
  }
  return byProgram;
}
