-- The Graph-compatible admin API (issue 14): applications that act on their own behalf
-- (OAuth 2.0 client credentials) with application permissions, Graph's names; and an index
-- for the exact lookup of users by mail ($filter=mail eq '…'), in UPN order.

ALTER TABLE apps ADD COLUMN client_credentials boolean NOT NULL DEFAULT false;
ALTER TABLE apps ADD COLUMN permissions text[] NOT NULL DEFAULT '{}';

CREATE INDEX users_mail ON users (mail, upn COLLATE "C") WHERE mail <> '';
