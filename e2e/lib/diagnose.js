// What a suite prints about each browser's media connections when it ends, so that a failure in
// a CI log can be explained afterwards: negotiation state, how many forwarded streams arrive and
// whether they still move, and what the page warned about.

/** One line per open peer connection of `tab`: states, the media path, and per kind the number
 * of inbound streams and the packets they received. */
export function connectionReport(tab) {
  return tab.evaluate(async () => {
    const out = [];
    for (const pc of window.__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      const stats = new Map();
      (await pc.getStats()).forEach((s) => stats.set(s.id, s));
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
      const inbound = { audio: [], video: [] };
      for (const s of stats.values()) {
        if (s.type === 'inbound-rtp') inbound[s.kind]?.push(s.packetsReceived ?? 0);
      }
      const transceivers = pc.getTransceivers();
      out.push({
        state: pc.connectionState,
        ice: pc.iceConnectionState,
        signaling: pc.signalingState,
        path: local ? `${local.candidateType}${local.relayProtocol ? `/${local.relayProtocol}` : ''} ${local.address}:${local.port} -> ${remote?.candidateType} ${remote?.address}:${remote?.port}` : null,
        pairBytes: pair ? { sent: pair.bytesSent, received: pair.bytesReceived } : null,
        transceivers: transceivers.length,
        receiving: transceivers.filter((t) => /recv/.test(t.currentDirection ?? '')).length,
        inbound,
      });
    }
    return out;
  });
}

/** Prints `connectionReport` for every tab, and each tab's console warnings and errors. */
export async function reportConnections(tabs) {
  for (const [name, tab] of Object.entries(tabs)) {
    const report = await connectionReport(tab).catch((e) => `unavailable: ${e.message}`);
    console.log(`${name}'s connections: ${JSON.stringify(report)}`);
    const warnings = tab.console.filter((line) => /^(warn|warning|error):/.test(line));
    for (const line of warnings.slice(-8)) console.log(`${name}: ${line}`);
  }
}

/** Prints the relay's warnings and errors (its log runs at `warn` unless RUST_LOG says more). */
export function reportRelayWarnings(relay) {
  const lines = (relay?.log ?? '').split('\n').filter((line) => /\b(WARN|ERROR)\b/.test(line));
  for (const line of lines.slice(-12)) console.log(`relay: ${line}`);
}
