-- users.locked_until follows the account-wide lockout counter (key = user id, bucket = '')
-- by triggers, as in PostgreSQL's schema, instead of by each Go write path: whoever writes
-- the counter, and whichever of counter and user is written first, the copy stays true.
-- Only a change of locked_until fires, so charging a counter costs no write to users.

CREATE TRIGGER users_copy_lock AFTER INSERT ON users FOR EACH ROW
	WHEN EXISTS (SELECT 1 FROM lockouts WHERE key = NEW.id AND bucket = '' AND locked_until IS NOT NULL)
BEGIN
	UPDATE users SET locked_until = (SELECT locked_until FROM lockouts WHERE key = NEW.id AND bucket = '')
		WHERE rid = NEW.rid;
END;

CREATE TRIGGER lockouts_copy_lock_insert AFTER INSERT ON lockouts FOR EACH ROW
	WHEN NEW.bucket = '' AND NEW.locked_until IS NOT NULL
BEGIN
	UPDATE users SET locked_until = NEW.locked_until WHERE id = NEW.key;
END;

CREATE TRIGGER lockouts_copy_lock_update AFTER UPDATE ON lockouts FOR EACH ROW
	WHEN NEW.bucket = '' AND OLD.locked_until IS NOT NEW.locked_until
BEGIN
	UPDATE users SET locked_until = NEW.locked_until WHERE id = NEW.key;
END;

CREATE TRIGGER lockouts_copy_lock_delete AFTER DELETE ON lockouts FOR EACH ROW
	WHEN OLD.bucket = '' AND OLD.locked_until IS NOT NULL
BEGIN
	UPDATE users SET locked_until = NULL WHERE id = OLD.key;
END;
