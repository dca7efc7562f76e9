// Page-object helpers: what a person sees in a meeting, read through the data-* contract.

/** The names on all tiles, own tile included. */
export function tileNames(tab) {
  return tab.evaluate(() => [...document.querySelectorAll('[data-participant]')].map((t) => t.dataset.participant));
}

/** The names on the others' tiles. */
export async function remoteNames(tab) {
  return tab.evaluate(() =>
    [...document.querySelectorAll('[data-participant]:not([data-self])')].map((t) => t.dataset.participant));
}

/** The `<video>` state of `name`'s tile. */
export function videoState(tab, name) {
  return tab.evaluate((n) => {
    const tile = [...document.querySelectorAll('[data-participant]')].find((t) => t.dataset.participant === n);
    const v = tile?.querySelector('video');
    if (!v) return null;
    return { time: v.currentTime, width: v.videoWidth, paused: v.paused, muted: tile.dataset.muted };
  }, name);
}

/**
 * Frames shown so far in each other participant's tile, by name: the tile's `<video>` element's
 * own count (Firefox: `mozPaintedFrames`; Chromium: `getVideoPlaybackQuality().totalVideoFrames`,
 * which Firefox leaves at 0 for a camera stream). `null` for a tile that shows no picture (no
 * size yet). Counted in frames because Firefox's `<video>` clock runs on while no frame arrives;
 * read from the element, not from `getStats()`, because statistics queue behind the browser's
 * negotiation work and cost it time on a loaded machine.
 */
function tileFrames(tab) {
  return tab.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('[data-participant]:not([data-self])')].map((tile) => {
      const v = tile.querySelector('video');
      const frames = !v || v.videoWidth === 0 ? null
        : (v.mozPaintedFrames ?? v.getVideoPlaybackQuality?.().totalVideoFrames ?? null);
      return [tile.dataset.participant, frames];
    })));
}

/** Whether `name`'s video is playing: its tile has a picture and shows new frames within
 * 0.7 s. */
export async function videoPlays(tab, name) {
  const a = (await tileFrames(tab))[name];
  if (a == null) return false;
  await new Promise((r) => setTimeout(r, 700));
  const b = (await tileFrames(tab))[name];
  return b != null && b > a;
}

/** The names of the others whose video is playing (a picture, and new frames shown within
 * 0.7 s), all tiles sampled at once. */
export async function playingVideos(tab) {
  const a = await tileFrames(tab);
  await new Promise((r) => setTimeout(r, 700));
  const b = await tileFrames(tab);
  return Object.keys(b).filter((name) => a[name] != null && b[name] != null && b[name] > a[name]);
}

/** Frames shown so far of `name`'s shared screen (counted as in `tileFrames`), or `null`
 * while no screen of theirs shows a picture. */
function screenFrames(tab, name) {
  return tab.evaluate((n) => {
    const v = [...document.querySelectorAll('[data-screen]')].find((f) => f.dataset.screen === n)?.querySelector('video');
    if (!v || v.videoWidth === 0) return null;
    return v.mozPaintedFrames ?? v.getVideoPlaybackQuality?.().totalVideoFrames ?? null;
  }, name);
}

/** Whether `name`'s shared screen is playing: it shows a picture, and new frames within 1.5 s
 * (a screen sends a frame only when something on it changes). */
export async function screenPlays(tab, name) {
  const a = await screenFrames(tab, name);
  if (a == null) return false;
  await new Promise((r) => setTimeout(r, 1500));
  const b = await screenFrames(tab, name);
  return b != null && b > a;
}

/** Inbound audio and video counters of every open peer connection of the page. */
export function inboundStats(tab) {
  return tab.evaluate(async () => {
    const out = [];
    for (const pc of window.__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      const report = await pc.getStats();
      const entry = { state: pc.connectionState, audioBytes: 0, audioEnergy: null, framesDecoded: 0 };
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'audio') {
          entry.audioBytes += s.bytesReceived ?? 0;
          if (typeof s.totalAudioEnergy === 'number') entry.audioEnergy = (entry.audioEnergy ?? 0) + s.totalAudioEnergy;
        }
        if (s.kind === 'video') entry.framesDecoded += s.framesDecoded ?? 0;
      });
      out.push(entry);
    }
    return out;
  });
}

/** Whether the page receives audio from `count` peers: bytes (and energy, where the browser reports it) rising. */
export async function receivesAudioFrom(tab, count) {
  const a = await inboundStats(tab);
  await new Promise((r) => setTimeout(r, 1000));
  const b = await inboundStats(tab);
  if (a.length !== count || b.length !== count) return false;
  return b.every((s, i) => s.audioBytes > a[i].audioBytes
    && (s.audioEnergy === null || s.audioEnergy > (a[i].audioEnergy ?? 0))
    && s.framesDecoded > a[i].framesDecoded);
}

/** The text of the error notice, if one is shown. */
export function errorText(tab) {
  return tab.evaluate(() => document.querySelector('[data-testid="error"]')?.textContent ?? null);
}

/** The meeting's phase (`joined`, `waiting`, `connecting`, ...), or null off the meeting. */
export function phase(tab) {
  return tab.evaluate(() => document.querySelector('main.meeting')?.dataset.phase ?? null);
}

/** Whether each of `tabs` shows a tile for every other one. */
export async function allTogether(tabs) {
  for (const tab of tabs) {
    if ((await remoteNames(tab)).length !== tabs.length - 1) return false;
  }
  return true;
}

/** The meeting root's `data-mode`. */
export function mode(tab) {
  return tab.evaluate(() => document.querySelector('main.meeting')?.dataset.mode ?? null);
}

/** The text of the first element matching `selector` as a person reads it: without the
 * invisible bidi isolation marks (U+2068, U+2069) Fluent puts around every variable. */
export function shownText(tab, selector) {
  return tab.evaluate((sel) => (document.querySelector(sel)?.textContent ?? '').replace(/[\u2068\u2069]/g, ''), selector);
}
