// The self-service reset story of issue 5, told once and run in English (recover-en.test.js)
// and Dutch (recover-nl.test.js) with each language's words:
//
//  1. the owner signs in, registers an alternate email address with the code mailed to it, and
//     signs out;
//  2. a stranger locks the account; the lockout mail, in the owner's language, has a "This wasn't
//     me" link; on another device the owner goes to /login > "Can't access your account?", types
//     the user name and the alternate address, types the mailed code, unlocks only, and signs in
//     with the old password;
//  3. the stranger locks it again; the owner follows the mail's "This wasn't me" link, reports
//     the attempts, passes the emailed code again and chooses a new password, which signs in
//     (and the old one no longer does, and the other sessions are over);
//  4. an unknown user name walks through the same pages, and no mail is sent.
//
// Every mail goes through a real SMTP server in this process (lib/mailbox.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from './harness.js';
import { useMailbox, codeIn, linksIn } from './mailbox.js';
import { clickAndLoad, errorBox, pathOf, signIn } from './pages.js';
import { axeViolations, describeViolations } from './axe.js';
import { auditLog, lockoutThreshold } from './admin.js';
import {
  addAlternateEmail, askForCode, chooseNewPassword, enterCode, enterUserName, expectSignInRefused,
  expectStep, openRecoverFromLogin, signInLog, signOut, strangerLocksOut,
} from './recover.js';

/**
 * @param {object} o
 * @param {string} o.locale       the browser's locale ('en-GB', 'nl-NL')
 * @param {string} o.lang         the <html lang> Portier answers with ('en', 'nl')
 * @param {object} o.owner        the user: upn, displayName, password, mail
 * @param {string} o.alternate    the owner's alternate email address
 * @param {string} o.newPassword  the password chosen in step 3
 * @param {object} o.unknown      { upn, alternate } of a name that is no user
 * @param {object} o.sentinel     a second user whose own mails prove that the unknown name's mail would have arrived
 * @param {object} o.t            the language's words (see recover-en.test.js)
 */
export function recoverTests(o) {
  const { locale, lang, t } = o;
  const mailbox = useMailbox(); // registered first: it listens before Portier starts
  const h = useHarness({
    users: { owner: o.owner, sentinel: o.sentinel },
    serveArgs: () => mailbox.serveArgs(),
  });
  const state = {};
  /** The forms of the verify step once a code was asked for, known user or not. */
  const verifyFormsAfterSend = ['/recover/email', '/recover/code', '/recover/totp'];
  const verifyForms = (page) => page.locator('main form').evaluateAll((fs) => fs.map((f) => f.getAttribute('action')));

  /** Asserts no serious or critical axe-core violations on the page. */
  async function noA11yViolations(page, where) {
    const v = await axeViolations(page);
    assert.equal(v.length, 0, `axe-core on ${where}:\n${describeViolations(v)}`);
  }

  /** Asserts the page is in the test's language: <html lang> and its h1. */
  async function inLanguage(page, heading) {
    assert.equal(await page.locator('html').getAttribute('lang'), lang);
    await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
  }

  test(`${lang}: the owner registers an alternate email address with the code mailed to it`, async () => {
    const page = await h.newPage({ locale });
    await signIn(page, h.users.owner);
    await inLanguage(page, t.myAccount);
    const security = page.locator('main a[href="/myaccount/security-info"]');
    assert.equal((await security.innerText()).trim(), t.securityInfo);
    await clickAndLoad(page, security);
    await inLanguage(page, t.securityInfo);
    await noA11yViolations(page, '/myaccount/security-info');
    await page.goto('/myaccount');

    const mail = await addAlternateEmail(page, mailbox, o.alternate);
    assert.match(mail.subject, t.codeMailSubject, 'the registration code mail is in the page\'s language');
    assert.match(mail.text, t.codeMailText);
    assert.equal(mail.to.length, 1, 'the code goes to the new address only');
    await inLanguage(page, t.securityInfo);
    assert.match(await page.getByRole('status').first().innerText(), t.securityAdded);
    await noA11yViolations(page, '/myaccount/security-info with a method');

    const audit = (await auditLog(h)).find((e) => e.target === o.owner.upn && e.activity === 'user.register-security-info');
    assert.ok(audit, 'registering security info is audited');
    assert.equal(JSON.stringify(audit).includes(o.alternate), false, 'the audit log does not spell out the address');
    const shown = await h.portier.showUser(o.owner.upn);
    assert.equal(shown.preferredLanguage, lang, 'the language the address was added in becomes that of the owner\'s mails');

    await signOut(page);
  });

  test(`${lang}: locked by a stranger, the owner verifies by email and unlocks only, keeping the password`, async () => {
    const owner = h.users.owner;
    const since = mailbox.mark();
    assert.equal(await strangerLocksOut(h, owner.upn, { prefix: 'first-round' }), lockoutThreshold);

    // One lockout mail to each of the owner's addresses, in the owner's language, with the link.
    const lockMail = await mailbox.waitForMailTo(o.alternate, { since, subject: t.lockoutMailSubject });
    await mailbox.waitForMailTo(o.owner.mail, { since, subject: t.lockoutMailSubject });
    assert.match(lockMail.text, t.lockoutMailText);
    assert.ok(lockMail.text.includes(t.thisWasntMe), `the lockout mail says "${t.thisWasntMe}":\n${lockMail.text}`);
    const report = linksIn(lockMail).find((l) => l.startsWith(`${h.baseURL}/recover/report?token=`));
    assert.ok(report, `the lockout mail links to /recover/report on ${h.baseURL}:\n${lockMail.text}`);
    assert.ok(lockMail.text.indexOf(t.thisWasntMe) < lockMail.text.indexOf(report), 'the link follows the "This wasn\'t me" text');
    assert.doesNotMatch(lockMail.text, /\b\d{8}\b/, 'the lockout mail holds no code');
    state.reportLink = report;

    // The owner, on another device: the right password is refused while the account is locked.
    const phone = await h.newPage({ locale });
    state.phone = phone;
    await expectSignInRefused(phone, owner.upn, owner.password, '50053');

    await openRecoverFromLogin(phone, t.recoverLink);
    await inLanguage(phone, t.recoverTitle);
    assert.equal((await phone.locator('form[action="/recover"] button[type=submit]').innerText()).trim(), t.next);
    await noA11yViolations(phone, '/recover');
    await enterUserName(phone, owner.upn);
    await inLanguage(phone, t.recoverTitle);
    await noA11yViolations(phone, '/recover/verify');

    const sent = mailbox.mark();
    await askForCode(phone, o.alternate);
    assert.match(await phone.getByRole('status').first().innerText(), t.codeSentNotice);
    assert.deepEqual(await verifyForms(phone), verifyFormsAfterSend, 'the verify page offers the code field and both methods');
    await noA11yViolations(phone, '/recover/verify with the code field');
    const codeMail = await mailbox.waitForMailTo(o.alternate, { since: sent });
    assert.match(codeMail.subject, t.codeMailSubject, 'the reset code mail is in the owner\'s language');
    const code = codeIn(codeMail);
    assert.equal(mailbox.to(o.owner.mail).filter((m) => m.subject === codeMail.subject).length, 0, 'the code goes only to the alternate address');

    // A wrong code first: refused, with the tries left.
    await enterCode(phone, code === '00000000' ? '11111111' : '00000000');
    await expectStep(phone, 'verify', '/recover/code');
    const wrong = await errorBox(phone);
    assert.equal(wrong.code, '90100');
    assert.match(wrong.text, t.wrongCode);

    await enterCode(phone, code);
    await expectStep(phone, 'choose', '/recover/choose');
    await inLanguage(phone, t.recoverTitle);
    const unlock = phone.locator('form[action="/recover/unlock"] button[data-action=unlock]');
    assert.equal((await unlock.innerText()).trim(), t.unlock);
    await phone.locator('form[action="/recover/password"]').waitFor();
    await noA11yViolations(phone, '/recover/choose');

    const unlocked = mailbox.mark();
    await clickAndLoad(phone, unlock);
    await expectStep(phone, 'unlocked');
    const done = phone.locator('[data-done=unlocked]');
    assert.match(await done.innerText(), t.unlockedText);
    const shown = await h.portier.showUser(owner.upn);
    assert.equal(shown.lockout.locked, false, 'the CLI sees the account unlocked');

    // The notice of the unlock, in the owner's language.
    const notice = await mailbox.waitForMailTo(o.alternate, { since: unlocked, subject: t.unlockedMailSubject });
    assert.doesNotMatch(notice.text, /\b\d{8}\b/);

    // The code was used up: going back to the reset gives nothing.
    await phone.goto('/recover/choose');
    await expectStep(phone, 'name');
    assert.equal((await errorBox(phone)).code, '90100');

    // The old password signs in again.
    await signIn(phone, owner);
    await inLanguage(phone, t.myAccount);
    const audit = await auditLog(h);
    assert.ok(audit.some((e) => e.target === owner.upn && e.activity === 'user.self-service-unlock' && e.result === 'success'), 'the self-service unlock is audited');
  });

  test(`${lang}: locked again, the owner follows "This wasn't me" from the mail and chooses a new password`, async () => {
    const owner = h.users.owner;
    assert.ok(state.reportLink, 'the first test kept the lockout mail\'s link');
    const n = await strangerLocksOut(h, owner.upn, { prefix: 'second-round' });
    assert.ok(n <= lockoutThreshold);

    const laptop = await h.newPage({ locale });
    await expectSignInRefused(laptop, owner.upn, owner.password, '50053');

    // The link shows a page that asks first (a mail scanner following it reports nothing).
    await laptop.goto(state.reportLink);
    await expectStep(laptop, 'report');
    await inLanguage(laptop, t.recoverTitle);
    const reportButton = laptop.locator('form[action="/recover/report"] button[type=submit]');
    assert.equal((await reportButton.innerText()).trim(), t.thisWasntMe);
    assert.ok((await laptop.locator('main').innerText()).includes(owner.upn));
    await noA11yViolations(laptop, '/recover/report');
    await clickAndLoad(laptop, reportButton);
    assert.equal(pathOf(laptop), `/recover?reported=1&username=${encodeURIComponent(owner.upn)}`);
    await expectStep(laptop, 'name');
    assert.match(await laptop.getByRole('status').first().innerText(), t.reportedNotice);
    assert.equal(await laptop.locator('form[action="/recover"] #username').inputValue(), owner.upn);
    const log = await signInLog(h, owner.upn);
    assert.ok(log.some((e) => e.reportedByUser === true), 'the reported attempts are flagged in the sign-in log');
    assert.ok(log.filter((e) => e.reportedByUser).every((e) => e.errorCode !== 0), 'only failed sign-ins are flagged');
    assert.ok((await auditLog(h)).some((e) => e.target === owner.upn && e.activity === 'user.report-lockout'), 'the report is audited');

    await clickAndLoad(laptop, laptop.locator('form[action="/recover"] button[type=submit]'));
    await expectStep(laptop, 'verify', '/recover/verify');
    const sent = mailbox.mark();
    await askForCode(laptop, o.alternate);
    await enterCode(laptop, codeIn(await mailbox.waitForMailTo(o.alternate, { since: sent })));
    await expectStep(laptop, 'choose', '/recover/choose');
    await laptop.locator('button[data-action=unlock]').waitFor();

    // The current password is refused as the new one, with the page's message.
    await chooseNewPassword(laptop, owner.password);
    await expectStep(laptop, 'password', '/recover/password');
    assert.equal((await errorBox(laptop)).code, '90100');
    assert.equal(await laptop.locator('button[data-action=unlock]').count(), 0);

    const reset = mailbox.mark();
    await chooseNewPassword(laptop, o.newPassword);
    await expectStep(laptop, 'reset', '/recover/password');
    assert.match(await laptop.locator('[data-done=reset]').innerText(), t.resetText);
    await mailbox.waitForMailTo(o.alternate, { since: reset, subject: t.resetMailSubject });
    const shown = await h.portier.showUser(owner.upn);
    assert.equal(shown.lockout.locked, false);

    // The phone's session, open since the unlock, is over (sign out everywhere was ticked).
    await state.phone.goto('/myaccount');
    assert.equal(pathOf(state.phone), '/login?return_to=%2Fmyaccount&done=ended', 'the other session was ended');

    // The old password no longer signs in; the new one does.
    await expectSignInRefused(laptop, owner.upn, owner.password, '50126');
    await signIn(laptop, owner, o.newPassword);
    await inLanguage(laptop, t.myAccount);
    const audit = await auditLog(h);
    assert.ok(audit.some((e) => e.target === owner.upn && e.activity === 'user.self-service-reset-password' && e.result === 'success'), 'the self-service reset is audited');
    assert.equal(JSON.stringify(audit).includes(o.newPassword), false);
  });

  test(`${lang}: an unknown user name walks through the same pages and no mail is sent`, async () => {
    const since = mailbox.mark();
    const page = await h.newPage({ locale });
    await openRecoverFromLogin(page, t.recoverLink);
    await enterUserName(page, o.unknown.upn);
    await inLanguage(page, t.recoverTitle);
    await askForCode(page, o.unknown.alternate);
    assert.match(await page.getByRole('status').first().innerText(), t.codeSentNotice);
    assert.deepEqual(await verifyForms(page), verifyFormsAfterSend, 'the same forms as for a known user');
    await enterCode(page, '12345678');
    await expectStep(page, 'verify', '/recover/code');
    const wrong = await errorBox(page);
    assert.equal(wrong.code, '90100');
    assert.match(wrong.text, t.wrongCode, 'the same answer as a known user\'s wrong code');
    await page.goto('/recover/choose');
    await expectStep(page, 'verify', '/recover/verify');

    // Proof that a mail would have arrived by now: two mails of another user sent after it.
    // The outbox sends in one loop, so the second one leaves only after the batch that would
    // hold the unknown name's mail is done.
    const sentinel = await h.newPage({ locale });
    await signIn(sentinel, h.users.sentinel);
    await addAlternateEmail(sentinel, mailbox, o.sentinel.alternates[0]);
    await sentinel.goto('/myaccount/security-info');
    const after = mailbox.mark();
    await sentinel.locator('form[action="/myaccount/security-info/email"] #address').fill(o.sentinel.alternates[1]);
    await clickAndLoad(sentinel, sentinel.locator('form[action="/myaccount/security-info/email"] button[type=submit]'));
    await mailbox.waitForMailTo(o.sentinel.alternates[1], { since: after });

    assert.deepEqual(mailbox.to(o.unknown.alternate), [], 'no mail to the address typed for an unknown name');
    const others = mailbox.messages.slice(since).filter((m) => !o.sentinel.alternates.some((a) => m.to.includes(a.toLowerCase())));
    assert.deepEqual(others.map((m) => `${m.to}: ${m.subject}`), [], 'no mail at all but the other user\'s');
  });
}
