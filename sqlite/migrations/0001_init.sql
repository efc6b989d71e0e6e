-- Portier's first schema. Times are INTEGER unix nanoseconds in UTC, NULL for "never", so
-- they order and compare as numbers.

CREATE TABLE users (
	rid                 INTEGER PRIMARY KEY,
	id                  TEXT    NOT NULL,
	-- UPNs arrive lower-cased; NOCASE still keeps two spellings of one name out, and orders
	-- lower-case text as plain byte order does.
	upn                 TEXT    NOT NULL COLLATE NOCASE,
	display_name        TEXT    NOT NULL,
	-- Go's strings.ToLower of display_name (full Unicode, which SQLite's lower() is not),
	-- for case-insensitive prefix search by index range.
	display_lower       TEXT    NOT NULL,
	mail                TEXT    NOT NULL DEFAULT '',
	account_enabled     INTEGER NOT NULL,
	force_change        INTEGER NOT NULL,
	-- Comma-separated roles in the order given; '' for a plain user.
	roles               TEXT    NOT NULL DEFAULT '',
	password_hash       TEXT    NOT NULL,
	created             INTEGER,
	last_sign_in        INTEGER,
	sessions_valid_from INTEGER,
	password_changed    INTEGER,
	language            TEXT    NOT NULL DEFAULT '',
	-- A copy of the account-wide lockout counter's locked_until, kept by the store whenever
	-- that counter is written, so "locked" listings are one index range instead of a join
	-- over every user. The counter in lockouts stays the truth for LockoutState.
	locked_until        INTEGER
);

-- Named, not inline, so a query can insist on the index it needs (INDEXED BY).
CREATE UNIQUE INDEX users_id ON users (id);
CREATE UNIQUE INDEX users_upn ON users (upn);
-- Display-name prefix search; upn rides along so results sort without reading rows.
CREATE INDEX users_display ON users (display_lower, upn);
-- Partial indexes in UPN order, so each status listing reads only its own users.
CREATE INDEX users_blocked ON users (upn) WHERE account_enabled = 0;
CREATE INDEX users_admins ON users (upn) WHERE roles <> '';
CREATE INDEX users_locked ON users (locked_until, upn) WHERE locked_until IS NOT NULL;

-- Lockout counters: key is a user id (bucket '' account-wide, else a familiar browser's) or
-- the key of an unknown user name.
CREATE TABLE lockouts (
	key          TEXT    NOT NULL,
	bucket       TEXT    NOT NULL,
	failures     INTEGER NOT NULL,
	locked_until INTEGER,
	lockouts     INTEGER NOT NULL,
	last_failure INTEGER,
	recent       BLOB,
	PRIMARY KEY (key, bucket)
) WITHOUT ROWID;

-- AUTOINCREMENT: IDs are paging keys, so one is never handed out twice.
CREATE TABLE audit (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	time      INTEGER NOT NULL,
	actor     TEXT    NOT NULL,
	actor_id  TEXT    NOT NULL,
	action    TEXT    NOT NULL,
	target_id TEXT    NOT NULL,
	target    TEXT    NOT NULL,
	source    TEXT    NOT NULL,
	outcome   TEXT    NOT NULL,
	detail    TEXT    NOT NULL
);
CREATE INDEX audit_target ON audit (target_id, id);
CREATE INDEX audit_actor ON audit (actor, id);

CREATE TABLE signins (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	time            INTEGER NOT NULL,
	username        TEXT    NOT NULL,
	user_id         TEXT    NOT NULL,
	source          TEXT    NOT NULL,
	user_agent      TEXT    NOT NULL,
	code            INTEGER NOT NULL,
	familiar_device INTEGER NOT NULL,
	hash_computed   INTEGER NOT NULL,
	process         TEXT    NOT NULL,
	detail          TEXT    NOT NULL
);
CREATE INDEX signins_time ON signins (time);
CREATE INDEX signins_user ON signins (user_id, id);
CREATE INDEX signins_username ON signins (username, id);
CREATE INDEX signins_source ON signins (source, id);

CREATE TABLE sessions (
	id_hash    BLOB NOT NULL PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created    INTEGER,
	last_seen  INTEGER,
	expires    INTEGER,
	source     TEXT NOT NULL,
	user_agent TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id, created);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE settings (
	key   TEXT NOT NULL PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
