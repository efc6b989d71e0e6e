// Screenshots for the README (docs/screenshots/NAME.png). A test run takes them every time, so
// a page that stops rendering fails the run; they are written into docs/ only when asked
// (PORTIER_UPDATE_SCREENSHOTS=1, or `npm run screenshots` in e2e/), so that running the tests
// does not rewrite committed images.
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** docs/screenshots/ of this checkout. */
export const screenshotDir = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

/** Whether this run writes screenshots into docs/screenshots/. */
export const updatingScreenshots = process.env.PORTIER_UPDATE_SCREENSHOTS === '1';

/**
 * Saves a screenshot of the page's viewport (1280x800 in our contexts) as NAME.png, in
 * docs/screenshots/ when updating, else in a temporary directory; returns the file's path.
 * Pass fullPage: true for a page taller than the viewport.
 */
export async function saveScreenshot(page, name, { fullPage = false } = {}) {
  const dir = updatingScreenshots ? screenshotDir : path.join(tmpdir(), 'portier-e2e-screenshots');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  // Fonts and images are in before 'load'; the caret and any transition would make the
  // image change from run to run.
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: file, fullPage, animations: 'disabled', caret: 'hide', scale: 'css' });
  return file;
}

/** Width and height of a PNG file, from its IHDR chunk. */
export async function pngSize(file) {
  const b = await readFile(file);
  if (b.toString('latin1', 1, 4) !== 'PNG') throw new Error(`${file} is not a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bytes: b.length };
}
