-- Passkeys (WebAuthn credentials) of users: the second factor after a password, and a
-- passwordless sign-in of their own. The id is the credential id (base64url), unique across
-- users, since a sign-in without a user name finds the passkey by it. Transports are a
-- comma-separated list.

CREATE TABLE passkeys (
	id                 text COLLATE "C" PRIMARY KEY,
	user_id            text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name               text NOT NULL,
	public_key         bytea NOT NULL,
	sign_count         bigint NOT NULL DEFAULT 0,
	transports         text NOT NULL DEFAULT '',
	aaguid             bytea,
	attestation_format text NOT NULL DEFAULT '',
	backup_eligible    boolean NOT NULL DEFAULT false,
	backup_state       boolean NOT NULL DEFAULT false,
	created            timestamptz NOT NULL,
	last_used          timestamptz
);
CREATE INDEX passkeys_user ON passkeys (user_id, created);
