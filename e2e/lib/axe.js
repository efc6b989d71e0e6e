// Runs axe-core (the npm package, no network) on the page a test is at.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let axeSource;

/**
 * Runs axe-core on the current page and returns its violations whose impact is one of
 * `impacts`. The script is evaluated through the DevTools protocol, so the page's
 * Content-Security-Policy (no inline script) does not have to be loosened for it.
 */
export async function axeViolations(page, { impacts = ['serious', 'critical'] } = {}) {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  // eslint-disable-next-line no-undef
  if (!(await page.evaluate(() => typeof axe !== 'undefined'))) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  });
  return result.filter((v) => impacts.includes(v.impact));
}

/** Formats violations for an assertion message. */
export function describeViolations(violations) {
  return violations
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    at ${n.target}: ${n.summary}`).join('\n')}`)
    .join('\n');
}

