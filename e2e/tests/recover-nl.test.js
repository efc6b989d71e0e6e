// Self-service password reset in Dutch (browser language nl-NL), with every mail through a real
// SMTP server in the test process: the same story as recover-en.test.js (lib/recover-scenario.js),
// with the Dutch pages and mails checked for their Dutch words.
import { recoverTests } from '../lib/recover-scenario.js';

recoverTests({
  locale: 'nl-NL',
  lang: 'nl',
  owner: {
    upn: 'sanne.visser@example.org', displayName: 'Sanne Visser', mail: 'sanne.visser@example.org',
    password: 'stille-haven-lantaarn-5830',
  },
  alternate: 'sanne.thuis@example.net',
  newPassword: 'koperen-ketel-ochtend-getij-7714',
  unknown: { upn: 'niemand.hier@example.org', alternate: 'niemand.thuis@example.net' },
  sentinel: {
    upn: 'sem.schildwacht@example.org', displayName: 'Sem Schildwacht', password: 'fluwelen-boomgaard-sein-2291',
    alternates: ['sem.een@example.net', 'sem.twee@example.net'],
  },
  t: {
    myAccount: 'Mijn account',
    securityInfo: 'Beveiligingsgegevens',
    securityAdded: /^Uw beveiligingsgegevens zijn toegevoegd\.$/,
    recoverLink: 'Hebt u geen toegang tot uw account?',
    recoverTitle: 'Weer toegang tot uw account',
    next: 'Volgende',
    unlock: 'Mijn account ontgrendelen',
    codeSentNotice: /is er een code van 8 cijfers naar onderweg/,
    wrongCode: /^Die code klopt niet\. Nog 4 pogingen\.$/,
    unlockedText: /^Uw account is ontgrendeld\. U kunt zich aanmelden met uw huidige wachtwoord\.$/,
    resetText: /^Uw wachtwoord is gewijzigd\./,
    reportedNotice: /^Bedankt: uw beheerder ziet nu de aanmeldpogingen die u hebt gemeld\./,
    thisWasntMe: 'Dit was ik niet',
    codeMailSubject: /^\d{8} is uw verificatiecode voor Portier$/,
    codeMailText: /^Hallo Sanne Visser,/,
    lockoutMailSubject: /^Uw Portier-account is vergrendeld na mislukte aanmeldingen$/,
    lockoutMailText: /Uw account sanne\.visser@example\.org is om .* vergrendeld na \d+ aanmeldpogingen met een verkeerd wachtwoord/,
    unlockedMailSubject: /^Uw Portier-account is ontgrendeld$/,
    resetMailSubject: /^Het wachtwoord van uw Portier-account is opnieuw ingesteld$/,
  },
});
