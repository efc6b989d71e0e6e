-- How many failures made a counter's latest lock: the count restarts at each lock, and the
-- admin center, the command line and the API show the number that locked the account.
ALTER TABLE lockouts ADD COLUMN lock_failures integer NOT NULL DEFAULT 0;
