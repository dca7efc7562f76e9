// A small internet in network namespaces: the relay on a public (documentation) address, and
// sites behind NAT routers made with nftables, each with one computer on 192.168.1.0/24:
//
//   [pc 192.168.1.2] -- [router: LAN 192.168.1.1, WAN 203.0.113.1x, nftables] --+
//   [pc 192.168.1.2] -- [router ...] ---------------------------------------------+-- bridge in
//                                                     "internet" with the relay on 203.0.113.1
//
// Kinds of site:
//   home      masquerade: one public address, ports kept where free (a home router)
//   symmetric masquerade fully-random: a new random port for every destination (a mobile
//             carrier's NAT), so a mapping learnt from the relay is useless to anyone else
//   school    masquerade, and the router drops every UDP packet it forwards (a school or town
//             hall firewall that lets only TCP out)
//   https     masquerade, and the router lets out nothing but TCP to port 443 (the strictest
//             school and office firewalls: web browsing only)
//
// Needs root (ip netns, nft). Namespaces are named after the process id and removed by
// `destroy()`; the kernel frees their interfaces with them.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

import { TestCa } from './testca.js';

export const RELAY_IP = '203.0.113.1';
/** The relay server's second address, for TURN over TLS on port 443 (docs/deploy.md), and the
 * name under which the lab's computers find it (their /etc/hosts; the lab has no DNS). Firefox
 * offers TURN over TLS only for servers given by name. */
export const TURN_TLS_IP = '203.0.113.2';
export const TURN_TLS_NAME = 'turn.treffpunkt.test';

function ip(...args) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNs(ns, command, args, input) {
  return execFileSync('ip', ['netns', 'exec', ns, command, ...args], { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

const NFT = {
  home: 'masquerade',
  symmetric: 'masquerade fully-random',
  school: 'masquerade',
  https: 'masquerade',
};

// What each kind's firewall lets through from the computer to the internet (answers always
// come back).
const FIREWALL = {
  school: ['meta l4proto udp counter drop'],
  https: ['ct state established,related accept', 'iifname "lan" tcp dport 443 accept', 'iifname "lan" counter drop'],
};

export class NatLab {
  constructor() {
    NatLab.removeStale();
    // Browsers in the lab are driven over this namespace's loopback (lib/netns-firefox.js).
    ip('link', 'set', 'lo', 'up');
    this.prefix = `tp${process.pid}`;
    this.namespaces = [];
    this.sites = new Map();
    this.internet = this.#add('inet');
    ip('-n', this.internet, 'link', 'set', 'lo', 'up');
    ip('-n', this.internet, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.internet, 'addr', 'add', `${RELAY_IP}/24`, 'dev', 'br0');
    ip('-n', this.internet, 'addr', 'add', `${TURN_TLS_IP}/24`, 'dev', 'br0');
    ip('-n', this.internet, 'link', 'set', 'br0', 'up');
  }

  #add(name) {
    const ns = `${this.prefix}-${name}`;
    ip('netns', 'add', ns);
    this.namespaces.push(ns);
    return ns;
  }

  /** Adds a site of `kind`; returns its computer's namespace. */
  site(name, kind) {
    if (!NFT[kind]) throw new Error(`unknown site kind ${kind}`);
    const index = this.sites.size + 1;
    const router = this.#add(`${name}-r`);
    const pc = this.#add(`${name}-pc`);
    const wanIp = `203.0.113.${10 + index}`;
    // WAN: router <-> the internet's bridge.
    ip('link', 'add', `${this.prefix}w${index}`, 'type', 'veth', 'peer', 'name', `${this.prefix}x${index}`);
    ip('link', 'set', `${this.prefix}w${index}`, 'netns', router, 'name', 'wan');
    ip('link', 'set', `${this.prefix}x${index}`, 'netns', this.internet, 'name', `site${index}`);
    ip('-n', this.internet, 'link', 'set', `site${index}`, 'master', 'br0', 'up');
    ip('-n', router, 'addr', 'add', `${wanIp}/24`, 'dev', 'wan');
    // LAN: router <-> computer.
    ip('link', 'add', `${this.prefix}l${index}`, 'type', 'veth', 'peer', 'name', `${this.prefix}p${index}`);
    ip('link', 'set', `${this.prefix}l${index}`, 'netns', router, 'name', 'lan');
    ip('link', 'set', `${this.prefix}p${index}`, 'netns', pc, 'name', 'eth0');
    ip('-n', router, 'addr', 'add', '192.168.1.1/24', 'dev', 'lan');
    ip('-n', pc, 'addr', 'add', '192.168.1.2/24', 'dev', 'eth0');
    for (const [ns, dev] of [[router, 'lo'], [router, 'wan'], [router, 'lan'], [pc, 'lo'], [pc, 'eth0']]) {
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    ip('-n', pc, 'route', 'add', 'default', 'via', '192.168.1.1');
    // `ip netns exec` shows a namespace's programs /etc/netns/<name>/hosts as /etc/hosts.
    mkdirSync(`/etc/netns/${pc}`, { recursive: true });
    writeFileSync(`/etc/netns/${pc}/hosts`, `127.0.0.1 localhost\n${TURN_TLS_IP} ${TURN_TLS_NAME}\n`);
    // No name server: the lab has none, and the host's is unreachable from here.
    writeFileSync(`/etc/netns/${pc}/resolv.conf`, '# the NAT lab has no DNS\n');
    ip('-n', router, 'route', 'add', 'default', 'via', RELAY_IP);
    inNs(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const rules = [
      'table ip nat {',
      '  chain postrouting {',
      '    type nat hook postrouting priority 100;',
      `    oifname "wan" ${NFT[kind]}`,
      '  }',
      '}',
    ];
    if (FIREWALL[kind]) {
      rules.push('table inet firewall {', '  chain forward {', '    type filter hook forward priority 0;',
        ...FIREWALL[kind].map((rule) => `    ${rule}`), '  }', '}');
    }
    inNs(router, 'nft', ['-f', '-'], rules.join('\n') + '\n');
    const site = { name, kind, router, pc, wanIp };
    this.sites.set(name, site);
    return site;
  }

  /** Takes a site's internet link down or up (a dropout). */
  link(name, up) {
    ip('-n', this.sites.get(name).router, 'link', 'set', 'wan', up ? 'up' : 'down');
  }

  /** Makes a site's link lossy: its router drops `percent` % of the UDP packets it forwards, at
   * random, both ways. */
  lossy(name, percent) {
    const rules = ['table inet impair {', '  chain forward {', '    type filter hook forward priority -10;',
      `    meta l4proto udp numgen random mod 100 < ${percent} counter drop`, '  }', '}'];
    inNs(this.sites.get(name).router, 'nft', ['-f', '-'], rules.join('\n') + '\n');
  }

  /** Makes a site's link slow: everything its computer sends waits `ms` before it leaves, so
   * every round trip from there takes `ms` longer. This kernel has no `sch_netem` for `tc netem`,
   * so a small program (lib/delayline.py) holds the packets: the computer's default route points
   * at its TUN device, and it puts each packet on the wire to the router after the wait. */
  async delayed(name, ms) {
    const site = this.sites.get(name);
    const macOf = (ns, dev) => JSON.parse(inNs(ns, 'ip', ['-j', 'link', 'show', dev]))[0].address;
    const script = new URL('./delayline.py', import.meta.url).pathname;
    const line = spawn('ip', ['netns', 'exec', site.pc, '/usr/bin/python3', script, 'dly', 'eth0',
      macOf(site.router, 'lan'), macOf(site.pc, 'eth0'), String(ms)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.delayLines = [...(this.delayLines ?? []), line];
    await new Promise((resolve, reject) => {
      line.once('exit', (code) => reject(new Error(`the delay line ended at once (${code})`)));
      line.stdout.once('data', resolve);
    });
    ip('-n', site.pc, 'link', 'set', 'dly', 'up');
    // Answers come back on eth0, not where the default route points: loose source checks.
    inNs(site.pc, 'sysctl', ['-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.eth0.rp_filter=0']);
    const address = JSON.parse(inNs(site.pc, 'ip', ['-j', '-4', 'addr', 'show', 'eth0']))[0].addr_info[0].local;
    ip('-n', site.pc, 'route', 'replace', 'default', 'dev', 'dly', 'src', address);
  }

  /** Moves a site's computer to another address on its network (a laptop that changes its
   * Wi-Fi, say): every connection it had is bound to an address that no longer exists. */
  readdress(name, address) {
    const pc = this.sites.get(name).pc;
    ip('-n', pc, 'addr', 'flush', 'dev', 'eth0');
    ip('-n', pc, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', pc, 'route', 'replace', 'default', 'via', '192.168.1.1');
  }

  /** How many packets a school's firewall dropped (to show it was in the way). */
  dropped(name) {
    const out = inNs(this.sites.get(name).router, 'nft', ['list', 'table', 'inet', 'firewall']);
    return Number(out.match(/packets (\d+)/)?.[1] ?? 0);
  }

  /** Removes labs left behind by test processes that no longer run (killed mid-test). */
  static removeStale() {
    let names = [];
    try {
      names = execFileSync('ip', ['netns', 'list']).toString().split('\n').map((l) => l.split(' ')[0]);
    } catch { return; }
    for (const ns of names) {
      const pid = Number(ns.match(/^tp(\d+)-/)?.[1]);
      if (!pid || pid === process.pid) continue;
      let alive = true;
      try { process.kill(pid, 0); } catch { alive = false; }
      if (!alive) {
        try { ip('netns', 'del', ns); } catch { /* someone else removed it */ }
        rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
      }
    }
  }

  /** A certificate authority for this lab and a certificate from it for TURN_TLS_NAME (the
   * relay's TURN over TLS), as a town would get one from its CA: `{ cert, key, ca }`
   * paths, made once per lab and removed by `destroy()`. */
  certificate() {
    if (this.cert) return this.cert;
    this.testCa = new TestCa('Treffpunkt lab CA');
    this.cert = { ...this.testCa.issue('turn', [TURN_TLS_NAME]), ca: this.testCa.ca };
    return this.cert;
  }

  destroy() {
    this.testCa?.remove();
    // Closing its input ends a delay line.
    for (const line of this.delayLines ?? []) line.stdin.end();
    for (const ns of this.namespaces.reverse()) {
      try { ip('netns', 'del', ns); } catch { /* already gone */ }
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    this.namespaces = [];
  }
}

/** The candidate pair each open peer connection of the page sends over: types and protocols. */
export function mediaPaths(tab) {
  return tab.evaluate(async () => {
    const out = [];
    for (const pc of window.__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      const report = await pc.getStats();
      const stats = new Map();
      report.forEach((s) => stats.set(s.id, s));
      let pair = null;
      for (const s of stats.values()) {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      }
      // Firefox marks the pair in use `selected` (its aggressive nomination can leave several
      // pairs nominated and succeeded).
      if (!pair) pair = [...stats.values()].find((s) => s.type === 'candidate-pair' && s.selected);
      if (!pair) {
        for (const s of stats.values()) {
          if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
        }
      }
      const local = pair && stats.get(pair.localCandidateId);
      const remote = pair && stats.get(pair.remoteCandidateId);
      out.push({
        state: pc.connectionState,
        local: local ? `${local.candidateType}${local.relayProtocol ? `/${local.relayProtocol}` : ''}` : null,
        remote: remote ? remote.candidateType : null,
        protocol: local?.protocol ?? null,
      });
    }
    return out;
  });
}
