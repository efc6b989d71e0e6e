-- The Graph-compatible admin API (issue 14): applications that act on their own behalf
-- (OAuth 2.0 client credentials) with application permissions, Graph's names, as a JSON
-- array; and an index for the exact lookup of users by mail ($filter=mail eq '…').

ALTER TABLE apps ADD COLUMN client_credentials INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN permissions TEXT NOT NULL DEFAULT '[]';

CREATE INDEX users_mail ON users (mail, upn) WHERE mail <> '';
