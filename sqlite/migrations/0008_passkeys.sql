-- Passkeys (WebAuthn credentials) of users: the second factor after a password, and a
-- passwordless sign-in of their own. The id is the credential id (base64url), unique across
-- users, since a sign-in without a user name finds the passkey by it. Transports are a
-- comma-separated list.

CREATE TABLE passkeys (
	id                 TEXT    NOT NULL PRIMARY KEY,
	user_id            TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name               TEXT    NOT NULL,
	public_key         BLOB    NOT NULL,
	sign_count         INTEGER NOT NULL DEFAULT 0,
	transports         TEXT    NOT NULL DEFAULT '',
	aaguid             BLOB,
	attestation_format TEXT    NOT NULL DEFAULT '',
	backup_eligible    INTEGER NOT NULL DEFAULT 0,
	backup_state       INTEGER NOT NULL DEFAULT 0,
	created            INTEGER,
	last_used          INTEGER
) WITHOUT ROWID;
CREATE INDEX passkeys_user ON passkeys (user_id, created);
