-- Hardening: a credential generation per user, which binds familiar-browser cookies; and named
-- counters (the lock memory's "lockout cleared" counter, /readyz's heartbeat).

ALTER TABLE users ADD COLUMN credential_generation bigint NOT NULL DEFAULT 0;

CREATE TABLE counters (
	name  text   PRIMARY KEY,
	value bigint NOT NULL
);
