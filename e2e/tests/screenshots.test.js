// Screenshots of the sign-in page for the README (docs/screenshots/login-en.png and login-nl.png).
// Every run takes them; PORTIER_UPDATE_SCREENSHOTS=1 (npm run screenshots) writes them into docs/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { pngSize, saveScreenshot } from '../lib/screenshots.js';
import { viewport } from '../lib/browser.js';

const h = useHarness();

for (const [lang, locale, heading] of [['en', 'en-GB', 'Sign in'], ['nl', 'nl-NL', 'Aanmelden']]) {
  test(`screenshot of /login in ${lang}`, async () => {
    const page = await h.newPage({ locale });
    await page.goto('/login');
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    const file = await saveScreenshot(page, `login-${lang}`);
    const size = await pngSize(file);
    assert.deepEqual({ width: size.width, height: size.height }, viewport);
    assert.ok(size.bytes > 10_000 && size.bytes < 500_000, `${file} is ${size.bytes} bytes`);
  });
}
