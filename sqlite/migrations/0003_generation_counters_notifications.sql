-- Hardening: a credential generation per user, which binds familiar-browser cookies; named
-- counters (the lock memory's "lockout cleared" counter, /readyz's heartbeat); and the
-- notifications that carry a published message to the other processes on this file.

ALTER TABLE users ADD COLUMN credential_generation INTEGER NOT NULL DEFAULT 0;

CREATE TABLE counters (
	name  TEXT    NOT NULL PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

-- AUTOINCREMENT: ids never go back after old rows are pruned, and since one writer commits at
-- a time they follow commit order, so a reader that saw id N has seen every message before it.
CREATE TABLE notifications (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	channel TEXT    NOT NULL,
	payload TEXT    NOT NULL,
	-- The Store handle that published it: it delivers its own messages in process, at once.
	origin  TEXT    NOT NULL,
	created INTEGER NOT NULL
);
