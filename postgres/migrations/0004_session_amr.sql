-- Multi-factor sign-in: a session remembers the methods that opened it (RFC 8176 "amr" values,
-- space-separated: "pwd otp mfa"), for the ID tokens it issues and for an application that
-- requires multi-factor. Sessions opened before hold '' and count as password-only.

ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT '';
