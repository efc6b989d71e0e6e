-- Self-service password reset and OpenID Connect: security-info methods, tokens, applications
-- and their assignments, signing keys, and the "This wasn't me" flag of the sign-in log.

ALTER TABLE signins ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;

CREATE TABLE auth_methods (
	id        TEXT    NOT NULL PRIMARY KEY,
	user_id   TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind      TEXT    NOT NULL,
	address   TEXT    NOT NULL DEFAULT '',
	secret    BLOB,
	last_step INTEGER NOT NULL DEFAULT 0,
	created   INTEGER,
	last_used INTEGER
) WITHOUT ROWID;
CREATE INDEX auth_methods_user ON auth_methods (user_id, created);

-- Tokens have no foreign keys: user_id is '' before sign-in, and a token may name a user or
-- application that was never stored. DeleteUser and DeleteApp remove them instead.
CREATE TABLE tokens (
	kind    TEXT NOT NULL,
	id      TEXT NOT NULL,
	user_id TEXT NOT NULL DEFAULT '',
	app_id  TEXT NOT NULL DEFAULT '',
	family  TEXT NOT NULL DEFAULT '',
	data    BLOB NOT NULL,
	created INTEGER,
	-- NULL: never expires.
	expires INTEGER,
	PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_app ON tokens (app_id);
CREATE INDEX tokens_family ON tokens (family);
CREATE INDEX tokens_expires ON tokens (expires);

-- Redirect URIs are JSON arrays of strings.
CREATE TABLE apps (
	id               TEXT    NOT NULL PRIMARY KEY,
	name             TEXT    NOT NULL,
	secret_hash      BLOB,
	public           INTEGER NOT NULL,
	redirect_uris    TEXT    NOT NULL DEFAULT '[]',
	post_logout_uris TEXT    NOT NULL DEFAULT '[]',
	assigned_only    INTEGER NOT NULL,
	created          INTEGER
) WITHOUT ROWID;
CREATE INDEX apps_name ON apps (name, id);

CREATE TABLE app_assignments (
	app_id  TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (app_id, user_id)
) WITHOUT ROWID;
CREATE INDEX app_assignments_user ON app_assignments (user_id);

CREATE TABLE signing_keys (
	id         TEXT NOT NULL PRIMARY KEY,
	algorithm  TEXT NOT NULL,
	private    BLOB NOT NULL,
	created    INTEGER,
	not_before INTEGER,
	expires    INTEGER
) WITHOUT ROWID;
