-- Portier's first schema. Text that is sorted, compared by prefix or used as a key is
-- COLLATE "C": byte order is Go's string order (the order the store contract promises), and a
-- plain btree index on a "C" column serves ORDER BY, keyset paging and prefix ranges alike.

CREATE TABLE users (
	id                  text COLLATE "C" PRIMARY KEY,
	-- UPNs arrive normalised (lower-case); the unique index on lower(upn) keeps the
	-- uniqueness case-insensitive even for a caller that forgot.
	upn                 text COLLATE "C" NOT NULL,
	display_name        text NOT NULL,
	-- display_lower is display_name lower-cased by Go, so search terms and stored names are
	-- folded by the same function whatever the database's locale.
	display_lower       text COLLATE "C" NOT NULL,
	mail                text NOT NULL DEFAULT '',
	account_enabled     boolean NOT NULL DEFAULT true,
	force_change        boolean NOT NULL DEFAULT false,
	roles               text[] NOT NULL DEFAULT '{}',
	password_hash       text NOT NULL DEFAULT '',
	created             timestamptz NOT NULL,
	last_sign_in        timestamptz,
	sessions_valid_from timestamptz,
	password_changed    timestamptz,
	language            text NOT NULL DEFAULT '',
	-- locked_until copies the locked_until of the user's account-wide lockout counter, kept
	-- by the triggers below; it exists only so that the "locked" listing walks one small
	-- index in UPN order. The user's LockoutState is always read from the counter itself.
	locked_until        timestamptz
);
CREATE UNIQUE INDEX users_upn_lower ON users (lower(upn));
CREATE INDEX users_upn ON users (upn);
-- A display-name prefix search must list its matches in UPN order, which no index on
-- display_lower gives. These do for the display names' first 1, 2 and 3 characters: a search
-- of up to 3 characters reads exactly one page of index entries, a longer one walks the
-- entries of its first 3 characters in UPN order until the page is full.
CREATE INDEX users_display_1 ON users (left(display_lower, 1), upn);
CREATE INDEX users_display_2 ON users (left(display_lower, 2), upn);
CREATE INDEX users_display_3 ON users (left(display_lower, 3), upn);
-- The blocked and admin listings are a small share of the directory: partial indexes in UPN
-- order let their pages start at once instead of filtering the whole directory.
CREATE INDEX users_blocked ON users (upn) WHERE NOT account_enabled;
CREATE INDEX users_admins ON users (upn) WHERE cardinality(roles) > 0;
-- locked_until is a key column so that expired locks are skipped inside the index.
CREATE INDEX users_locked ON users (upn, locked_until) WHERE locked_until IS NOT NULL;

-- Lockout counters: the account-wide one of a user is (user id, ''); others are per familiar
-- browser, per unknown user name or per source address. A counter may exist before or without
-- a user, so there is no foreign key.
CREATE TABLE lockouts (
	key          text COLLATE "C" NOT NULL,
	bucket       text COLLATE "C" NOT NULL,
	failures     integer NOT NULL DEFAULT 0,
	locked_until timestamptz,
	lockouts     integer NOT NULL DEFAULT 0,
	last_failure timestamptz,
	recent       bytea NOT NULL DEFAULT '\x',
	PRIMARY KEY (key, bucket)
);

-- users.locked_until follows the account-wide counter (key = user id, bucket = ''), whoever
-- writes it, and whichever of counter and user is written first. The functions pin their
-- search_path, so they find the tables of their own schema whatever the session's path.
CREATE FUNCTION users_copy_lock() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	SELECT l.locked_until INTO NEW.locked_until FROM lockouts l WHERE l.key = NEW.id AND l.bucket = '';
	RETURN NEW;
END
$$;
CREATE TRIGGER users_copy_lock BEFORE INSERT ON users
	FOR EACH ROW EXECUTE FUNCTION users_copy_lock();

CREATE FUNCTION lockouts_copy_lock() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		UPDATE users SET locked_until = NULL WHERE id = OLD.key;
	ELSE
		UPDATE users SET locked_until = NEW.locked_until WHERE id = NEW.key;
	END IF;
	RETURN NULL;
END
$$;
-- Only a change of locked_until fires, so charging a counter costs no write to users.
CREATE TRIGGER lockouts_copy_lock_insert AFTER INSERT ON lockouts FOR EACH ROW
	WHEN (NEW.bucket = '' AND NEW.locked_until IS NOT NULL) EXECUTE FUNCTION lockouts_copy_lock();
CREATE TRIGGER lockouts_copy_lock_update AFTER UPDATE ON lockouts FOR EACH ROW
	WHEN (NEW.bucket = '' AND OLD.locked_until IS DISTINCT FROM NEW.locked_until) EXECUTE FUNCTION lockouts_copy_lock();
CREATE TRIGGER lockouts_copy_lock_delete AFTER DELETE ON lockouts FOR EACH ROW
	WHEN (OLD.bucket = '' AND OLD.locked_until IS NOT NULL) EXECUTE FUNCTION lockouts_copy_lock();

CREATE TABLE audit_events (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time      timestamptz NOT NULL,
	actor     text NOT NULL,
	actor_id  text NOT NULL DEFAULT '',
	action    text NOT NULL,
	target_id text NOT NULL DEFAULT '',
	target    text NOT NULL DEFAULT '',
	source    text NOT NULL DEFAULT '',
	outcome   text NOT NULL,
	detail    text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_target ON audit_events (target_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);

CREATE TABLE sign_ins (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time            timestamptz NOT NULL,
	username        text NOT NULL,
	user_id         text NOT NULL DEFAULT '',
	source          text NOT NULL DEFAULT '',
	user_agent      text NOT NULL DEFAULT '',
	code            integer NOT NULL,
	familiar_device boolean NOT NULL DEFAULT false,
	hash_computed   boolean NOT NULL DEFAULT false,
	process         text NOT NULL DEFAULT '',
	detail          text NOT NULL DEFAULT ''
);
CREATE INDEX sign_ins_user ON sign_ins (user_id, id);
CREATE INDEX sign_ins_username ON sign_ins (username, id);
CREATE INDEX sign_ins_source ON sign_ins (source, id);
CREATE INDEX sign_ins_time ON sign_ins (time);

CREATE TABLE sessions (
	id_hash    bytea PRIMARY KEY,
	user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created    timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	expires    timestamptz NOT NULL,
	source     text NOT NULL DEFAULT '',
	user_agent text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, created);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE settings (
	key   text PRIMARY KEY,
	value bytea NOT NULL
);
