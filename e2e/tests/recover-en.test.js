// Self-service password reset in English (browser language en-GB), with every mail through a
// real SMTP server in the test process: security info, the lockout mail and its "This wasn't me"
// link, /recover to unlock only and to choose a new password, and an unknown name's parity.
// The story is in lib/recover-scenario.js; this file gives it the English words.
import { recoverTests } from '../lib/recover-scenario.js';

recoverTests({
  locale: 'en-GB',
  lang: 'en',
  owner: {
    upn: 'emma.clarke@example.org', displayName: 'Emma Clarke', mail: 'emma.clarke@example.org',
    password: 'quiet-harbour-lantern-5830',
  },
  alternate: 'emma.home@example.net',
  newPassword: 'copper-kettle-morning-tide-7714',
  unknown: { upn: 'nobody.here@example.org', alternate: 'nobody.home@example.net' },
  sentinel: {
    upn: 'sam.sentinel@example.org', displayName: 'Sam Sentinel', password: 'velvet-orchard-signal-2291',
    alternates: ['sam.one@example.net', 'sam.two@example.net'],
  },
  t: {
    myAccount: 'My account',
    securityInfo: 'Security info',
    securityAdded: /^Your security info was added\.$/,
    recoverLink: "Can't access your account?",
    recoverTitle: 'Get back into your account',
    next: 'Next',
    unlock: 'Unlock my account',
    codeSentNotice: /an 8-digit code is on its way/,
    wrongCode: /^That code is not right\. 4 tries left\.$/,
    unlockedText: /^Your account is unlocked\. You can sign in with your current password\.$/,
    resetText: /^Your password has been changed\./,
    reportedNotice: /^Thank you: your administrator can now see the sign-in attempts you reported\./,
    thisWasntMe: "This wasn't me",
    codeMailSubject: /^\d{8} is your Portier verification code$/,
    codeMailText: /^Hello Emma Clarke,/,
    lockoutMailSubject: /^Your Portier account was locked after failed sign-ins$/,
    lockoutMailText: /Your account emma\.clarke@example\.org was locked at .* after \d+ sign-in attempts with a wrong password/,
    unlockedMailSubject: /^Your Portier account was unlocked$/,
    resetMailSubject: /^Your Portier password was reset$/,
  },
});
