// Page open -> first remote video frame, for the second of two participants, on loopback.
// "Page open" is the page's time origin (navigation start); "first frame" is the first
// animation frame in which the other participant's <video> has decoded a picture.
// Usage: node bench/first-frame.js [runs]   (after `trunk build --release` and `cargo build -p relay`)
import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { Relay } from '../lib/relay.js';

const runs = Number(process.argv[2] ?? 7);

function watchFirstRemoteFrame() {
  const tick = () => {
    const video = document.querySelector('[data-participant]:not([data-self]) video');
    if (video && video.videoWidth > 0 && video.currentTime > 0) {
      window.__firstRemoteFrame = performance.now();
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

async function measure(relay, makeFirst, makeSecond, label) {
  const times = [];
  const first = await makeFirst();
  try {
    await first.goto(relay.url(`bench-${label}`, { name: 'Erste', autojoin: '1' }));
    await waitFor('the first participant', () => first.evaluate(() => !!document.querySelector('[data-self]')));
    for (let i = 0; i < runs; i++) {
      const second = await makeSecond();
      try {
        await second.addInitScript(watchFirstRemoteFrame);
        await second.goto(relay.url(`bench-${label}`, { name: `Zweite ${i}`, autojoin: '1' }));
        const t = await waitFor('the first remote frame', () => second.evaluate(() => window.__firstRemoteFrame),
          { timeout: 30_000, interval: 20 });
        times.push(t);
      } finally {
        await second.close();
      }
      // Let the first participant notice the departure before the next run.
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await first.close();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`| ${label} | ${runs} | ${median.toFixed(0)} ms | ${times[0].toFixed(0)} ms | ${times.at(-1).toFixed(0)} ms |`);
}

const relay = await Relay.start();
try {
  console.log('| second participant | runs | median | min | max |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  await measure(relay, chromiumTab, chromiumTab, 'chromium-to-chromium');
  await measure(relay, chromiumTab, firefoxTab, 'firefox-joins-chromium');
} finally {
  await relay.stop();
}
