// Runs axe-core (from npm, evaluated in the page by the test driver: a script tag would be refused
// by the app's Content-Security-Policy, as it should be) and returns serious and critical
// violations.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function seriousViolations(tab) {
  await tab.evaluate(AXE_SOURCE);
  const results = await tab.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  return results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Presses Tab until the element with `data-testid=id` has focus (at most `max` presses). */
export async function tabTo(tab, id, max = 40) {
  for (let i = 0; i < max; i++) {
    if (await tab.evaluate(() => document.activeElement?.dataset?.testid ?? null) === id) return true;
    await tab.press('Tab');
  }
  throw new Error(`could not reach ${id} with Tab in ${max} presses`);
}
