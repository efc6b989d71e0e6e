-- Self-service password reset and OpenID Connect: security-info methods, tokens, applications
-- and their assignments, signing keys, and the "This wasn't me" flag of the sign-in log.

ALTER TABLE sign_ins ADD COLUMN reported boolean NOT NULL DEFAULT false;

CREATE TABLE auth_methods (
	id        text COLLATE "C" PRIMARY KEY,
	user_id   text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind      text NOT NULL,
	address   text NOT NULL DEFAULT '',
	secret    bytea,
	last_step bigint NOT NULL DEFAULT 0,
	created   timestamptz NOT NULL,
	last_used timestamptz
);
CREATE INDEX auth_methods_user ON auth_methods (user_id, created);

-- Tokens have no foreign keys: user_id is '' before sign-in, and a token may name a user or
-- application that was never stored. DeleteUser and DeleteApp remove them instead.
CREATE TABLE tokens (
	kind    text COLLATE "C" NOT NULL,
	id      text COLLATE "C" NOT NULL,
	user_id text COLLATE "C" NOT NULL DEFAULT '',
	app_id  text COLLATE "C" NOT NULL DEFAULT '',
	family  text COLLATE "C" NOT NULL DEFAULT '',
	data    bytea NOT NULL DEFAULT '\x',
	created timestamptz NOT NULL,
	-- NULL: never expires.
	expires timestamptz,
	PRIMARY KEY (kind, id)
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_app ON tokens (app_id);
CREATE INDEX tokens_family ON tokens (family);
CREATE INDEX tokens_expires ON tokens (expires);

CREATE TABLE apps (
	id               text COLLATE "C" PRIMARY KEY,
	name             text COLLATE "C" NOT NULL,
	secret_hash      bytea,
	public           boolean NOT NULL DEFAULT false,
	redirect_uris    text[] NOT NULL DEFAULT '{}',
	post_logout_uris text[] NOT NULL DEFAULT '{}',
	assigned_only    boolean NOT NULL DEFAULT false,
	created          timestamptz NOT NULL
);
CREATE INDEX apps_name ON apps (name, id);

CREATE TABLE app_assignments (
	app_id  text COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_assignments_user ON app_assignments (user_id);

CREATE TABLE signing_keys (
	id         text COLLATE "C" PRIMARY KEY,
	algorithm  text NOT NULL,
	private    bytea NOT NULL,
	created    timestamptz NOT NULL,
	not_before timestamptz NOT NULL,
	expires    timestamptz NOT NULL
);
