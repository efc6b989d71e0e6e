package portier

import (
	"context"
	"time"

	"github.com/portier-id/portier/lockout"
)

// The store contract is cut into areas (users, lockouts, logs, sessions, methods, tokens,
// passkeys, apps, keys, settings, counters): each area has a Reader interface of the reads, which work
// both outside (Store) and inside (Tx) a transaction, and a Writer interface of the locking
// reads and writes, which only a Tx has. Queries, Tx and Store embed them all; a consumer
// declares the few it uses, e.g. interface{ UserReader; Transactor }. The suite in storetest
// checks each area with its own entry (storetest.RunUsers, ...).
//
// Errors: ENotFound for a missing user or session, EConflict for a taken UPN, EUnavailable when
// the database cannot be reached; anything else is EInternal. The messages of ENotFound and
// EConflict are built by the functions in storeerr.go, so both backends say the same.

// Store is the contract every storage backend (sqlite, postgres) fulfils. Reads run outside a
// transaction; every change runs inside Tx, so an action and its audit entry are written
// together or not at all.
type Store interface {
	Queries
	Transactor
	SignInWriter
	Subscriber
	Pinger
	// Close releases the database.
	Close() error
}

// Transactor runs transactions.
type Transactor interface {
	// Tx runs fn in one transaction and commits it when fn returns nil, rolls it back otherwise.
	// Rows read with a ForUpdate method stay locked against other transactions, in this process
	// and in every other process sharing the database, until Tx returns.
	Tx(ctx context.Context, fn func(tx Tx) error) error
}

// Subscriber receives what transactions publish (Publisher).
type Subscriber interface {
	// Subscribe calls fn with the payload of every message published on channel, by this
	// process or by any other sharing the store, once the publishing transaction committed,
	// until ctx ends. It returns once it listens. fn("") says that messages may have been
	// missed (the connection to the database was lost and made again).
	Subscribe(ctx context.Context, channel string, fn func(payload string)) error
}

// Pinger checks the database.
type Pinger interface {
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
}

// Queries are the reads of every area, both outside (Store) and inside (Tx) a transaction.
type Queries interface {
	UserReader
	LockoutReader
	LogReader
	SessionReader
	MethodReader
	PasskeyReader
	TokenReader
	AppReader
	KeyReader
	SettingReader
	CounterReader
	AttemptReader
}

// Tx is a transaction: the reads of Queries plus the locking reads and writes of every area.
type Tx interface {
	Queries
	UserWriter
	LockoutWriter
	LogWriter
	SessionWriter
	MethodWriter
	PasskeyWriter
	TokenWriter
	AppWriter
	KeyWriter
	SettingWriter
	CounterWriter
	Publisher
}

// UserReader reads users.
type UserReader interface {
	// UserByID returns the user with the id, its LockoutState filled; ENotFound (NoUserWithID) if none.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByUPN returns the user whose UPN equals upn once both are folded by FoldUPN, its
	// LockoutState filled; ENotFound (NoUserNamed) if none.
	UserByUPN(ctx context.Context, upn string) (*User, error)
	// ListUsers returns one page of users ordered by UPN, their LockoutState filled.
	ListUsers(ctx context.Context, f UserFilter) (UserPage, error)
	// CountUsers counts the users that f selects (After and Limit ignored).
	CountUsers(ctx context.Context, f UserFilter) (int, error)
	// FindUsers returns one page of the users q selects, ordered by UPN, their LockoutState
	// filled. Every condition is served by an index, so a page costs the same in a directory
	// of any size.
	FindUsers(ctx context.Context, q UserQuery) (UserPage, error)
}

// UserWriter changes users, inside a transaction.
type UserWriter interface {
	// UserForUpdate is UserByID that locks the user's row, and its account-wide lockout counter,
	// until the transaction ends; ENotFound if none.
	UserForUpdate(ctx context.Context, id string) (*User, error)
	// InsertUser adds u (its ID, UPN and Created set by the caller); EConflict (UPNTaken) when
	// the UPN is taken.
	InsertUser(ctx context.Context, u *User) error
	// InsertUsers adds many users in one go (COPY on PostgreSQL, one prepared statement on SQLite),
	// for imports and seeding; EConflict when any UPN is taken, and then none is added.
	InsertUsers(ctx context.Context, users []*User) error
	// UpdateUser writes every field of u except ID, Created and LockoutState; ENotFound if u is
	// gone, EConflict (UPNTaken) if its new UPN is taken.
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser removes the user, its lockout counters, sessions, methods, passkeys, tokens and app
	// assignments; ENotFound if none.
	DeleteUser(ctx context.Context, id string) error
}

// AttemptReader reads what a password attempt needs before its charge, in one round trip.
type AttemptReader interface {
	// ReadAttempt reads what q names, each as Counter, Lockout, UserByUPN and Token would,
	// in that order, so that the store counter is read before any lockout counter.
	ReadAttempt(ctx context.Context, q AttemptQuery) (AttemptRead, error)
}

// AttemptQuery names what ReadAttempt reads.
type AttemptQuery struct {
	Counter  string            // a store counter (Counter) to read first; "" for none
	Lockouts []lockout.Counter // lockout counters
	UPN      string            // the user whose UPN equals it once both are folded by FoldUPN; "" for none
	TAP      string            // the id of a Temporary Access Pass (TokenTAP); "" for none
}

// AttemptRead is what ReadAttempt read.
type AttemptRead struct {
	Counter  int64           // the store counter; 0 when it is missing or was not asked for
	Lockouts []lockout.State // in the query's order; the zero State for each that is missing
	User     *User           // its LockoutState filled; nil when there is none
	TAP      *Token          // nil when there is none
}

// SignInWriter makes the two writes that every right password takes, each in one atomic step
// of its own, outside a Tx: the charge before the hash and the settlement after it. Each is
// one round trip to the database, where a Tx of locking reads and writes takes several.
type SignInWriter interface {
	// SwapLockout writes next to the counter (key, bucket) if the counter still holds prev,
	// every field of it (a missing counter holds the zero State with a zero LastFailure), and
	// reports whether it did; when it did not, it changed nothing. It returns the counter's
	// state as it stands after the call (next when it swapped; otherwise the state in the way,
	// read in the same round trip), so that a caller can charge that one and try again
	// without another read. Its commit is durable no later than the next commit that is
	// (PostgreSQL: synchronous_commit off). The sign-in engine swaps what only counts: a
	// charge, a wrong password that locks nothing, a refund; a lock, and a right password's
	// settlement, are durable (README: what a crash of PostgreSQL can lose).
	SwapLockout(ctx context.Context, key, bucket string, prev, next lockout.State) (now lockout.State, swapped bool, err error)
	// ChargeAttempt is SwapLockout of c and ReadAttempt of q in one round trip, committed as
	// SwapLockout commits: the charge of a counter whose state the caller can tell in advance
	// (a browser's own, between its sign-ins) goes with the attempt's read. Where q names c's
	// counter, the read holds the state the swap left: c.Next when it swapped, the state in
	// its way otherwise. On an error nothing was swapped.
	ChargeAttempt(ctx context.Context, q AttemptQuery, c LockoutSwap) (read AttemptRead, swapped bool, err error)
	// SettleSignIn settles a right password as a full sign-in: the counter (Key, Bucket) is
	// removed (it starts afresh), and in one transaction the user's last sign-in time is set
	// to At and, when Language is not "", the user's language, and Session, if not nil, is
	// added. ENotFound (NoUserWithID) when the user is gone; no session is then added. The
	// counter's removal may commit first, on its own and without waiting for the disk
	// (PostgreSQL), so that the durable commit's disk flush does not hold the counter from
	// the next attempts; it stands even if the rest fails, which a right password allows,
	// and it is durable once the rest is.
	SettleSignIn(ctx context.Context, s SignInSettlement) error
	// RecordSignIns adds sign-in log entries and sets their IDs, all or none, in a transaction
	// of its own (PostgreSQL: one round trip), committed as SwapLockout commits. The entries
	// come from the memory of the process that logs them (signin.Recorder), where they waited
	// for up to its interval already; the next durable commit, a sign-in's settlement or any
	// Tx, takes them along.
	RecordSignIns(ctx context.Context, entries []*SignIn) error
}

// LockoutSwap is a swap of a lockout counter's state (SwapLockout), for ChargeAttempt.
type LockoutSwap struct {
	Counter    lockout.Counter
	Prev, Next lockout.State
}

// SignInSettlement is what SettleSignIn writes.
type SignInSettlement struct {
	Key, Bucket string
	UserID      string
	At          time.Time
	Language    string
	Session     *Session
}

// LockoutReader reads lockout counters.
type LockoutReader interface {
	// Lockout returns the counter (key, bucket); the zero State if there is none.
	Lockout(ctx context.Context, key, bucket string) (lockout.State, error)
}

// LockoutWriter changes lockout counters, inside a transaction. A user's account-wide counter
// (key = user id, bucket "") is copied into the user's row for the "locked" listing by the
// schema itself (triggers, on both backends), whichever of counter and user is written first.
type LockoutWriter interface {
	// LockoutForUpdate is Lockout that locks the counter (creating it if need be) until the transaction ends.
	LockoutForUpdate(ctx context.Context, key, bucket string) (lockout.State, error)
	// PutLockout writes a counter; a zero State may be stored or deleted.
	PutLockout(ctx context.Context, key, bucket string, s lockout.State) error
	// DeleteLockouts removes every counter of key (all its buckets).
	DeleteLockouts(ctx context.Context, key string) error
	// PruneLockouts removes the counters p selects and says how many went.
	PruneLockouts(ctx context.Context, p LockoutPrune) (LockoutsPruned, error)
}

// LockoutPrune selects the counters PruneLockouts removes. A counter locked at Now always
// stays. Of the others go: those that hold nothing (no failure, no lockout and no remembered
// password: a counter that was refunded, or cleared without being deleted); those whose last
// failure is at or before their kind's quiet time, whose failures and lockouts have decayed;
// and, while more than MaxUnknown counters' keys start with UnknownPrefix, the excess of
// those, fewest lockouts first, then fewest failures, then oldest last failure.
type LockoutPrune struct {
	Now time.Time
	// QuietSince is Now less the decay of the counters whose key starts with none of the
	// prefixes below (accounts, familiar browsers, unknown names).
	QuietSince time.Time
	// SourcePrefix starts the keys of the counters that decay at SourceQuietSince instead
	// (source addresses).
	SourcePrefix     string
	SourceQuietSince time.Time
	// UnknownPrefix starts the keys of the counters capped at MaxUnknown (unknown user
	// names); MaxUnknown 0 caps nothing.
	UnknownPrefix string
	MaxUnknown    int
}

// LockoutsPruned says how many counters PruneLockouts removed: Expired could no longer
// change any answer, Evicted went for MaxUnknown.
type LockoutsPruned struct {
	Expired, Evicted int
}

// LogReader reads the audit log and the sign-in log.
type LogReader interface {
	// ListAudit returns audit events, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	// ListSignIns returns sign-in log entries, newest first.
	ListSignIns(ctx context.Context, f SignInFilter) ([]*SignIn, error)
}

// LogWriter appends to and prunes the audit and sign-in logs, inside a transaction.
type LogWriter interface {
	// AppendAudit adds ev and sets its ID.
	AppendAudit(ctx context.Context, ev *AuditEvent) error
	// AppendSignIns adds sign-in log entries and sets their IDs.
	AppendSignIns(ctx context.Context, entries []*SignIn) error
	// PruneSignIns removes sign-in log entries older than before.
	PruneSignIns(ctx context.Context, before time.Time) (int, error)
	// FlagSignIns sets Reported on the user's sign-in log entries from since to until
	// (inclusive) that failed, and returns how many it flagged.
	FlagSignIns(ctx context.Context, userID string, since, until time.Time) (int, error)
}

// SessionReader reads browser sessions.
type SessionReader interface {
	// SessionByHash returns the session whose id hashes to idHash; ENotFound (NoSession) if none.
	SessionByHash(ctx context.Context, idHash []byte) (*Session, error)
	// ListSessions returns a user's sessions, newest first.
	ListSessions(ctx context.Context, userID string) ([]*Session, error)
	// SessionSources returns the distinct source addresses of the sessions, of every user,
	// that expire after now and were last seen at or after seenSince; at most limit of them.
	SessionSources(ctx context.Context, now, seenSince time.Time, limit int) ([]string, error)
}

// SessionWriter changes browser sessions, inside a transaction.
type SessionWriter interface {
	// InsertSession adds a session.
	InsertSession(ctx context.Context, s *Session) error
	// TouchSession sets a session's LastSeen; ENotFound (NoSession) if it is gone.
	TouchSession(ctx context.Context, idHash []byte, lastSeen time.Time) error
	// DeleteSession removes one session; no error if it is gone.
	DeleteSession(ctx context.Context, idHash []byte) error
	// DeleteUserSessions removes every session of a user and returns how many there were.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// PruneSessions removes sessions that expired before now.
	PruneSessions(ctx context.Context, now time.Time) (int, error)
}

// MethodReader reads users' security-info methods.
type MethodReader interface {
	// ListMethods returns a user's security-info methods, oldest first.
	ListMethods(ctx context.Context, userID string) ([]*AuthMethod, error)
}

// MethodWriter changes users' security-info methods, inside a transaction.
type MethodWriter interface {
	// InsertMethod adds m (its ID set by the caller); ENotFound if its user is gone, EConflict
	// if its id is taken.
	InsertMethod(ctx context.Context, m *AuthMethod) error
	// UpdateMethod writes m's Address, Secret, LastStep and LastUsed; ENotFound (NoMethod) if it is gone.
	UpdateMethod(ctx context.Context, m *AuthMethod) error
	// MethodForUpdate returns one method of the user and locks it until the transaction ends;
	// ENotFound (NoMethod) if the user has no such method.
	MethodForUpdate(ctx context.Context, userID, id string) (*AuthMethod, error)
	// DeleteMethod removes one method of the user; ENotFound (NoMethod) if the user has no such method.
	DeleteMethod(ctx context.Context, userID, id string) error
}

// PasskeyReader reads users' passkeys.
type PasskeyReader interface {
	// ListPasskeys returns a user's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]*Passkey, error)
	// Passkey returns the passkey with the credential id, whoever's it is; ENotFound (NoPasskey) if none.
	Passkey(ctx context.Context, id string) (*Passkey, error)
}

// PasskeyWriter changes users' passkeys, inside a transaction.
type PasskeyWriter interface {
	// InsertPasskey adds p; ENotFound if its user is gone, EConflict (PasskeyExists) if its
	// credential id is registered, to this user or another.
	InsertPasskey(ctx context.Context, p *Passkey) error
	// PasskeyForUpdate is Passkey that locks it until the transaction ends, so that two
	// assertions of one credential settle its sign counter one after the other.
	PasskeyForUpdate(ctx context.Context, id string) (*Passkey, error)
	// UpdatePasskey writes p's Name, SignCount, BackupState and LastUsed; ENotFound (NoPasskey) if it is gone.
	UpdatePasskey(ctx context.Context, p *Passkey) error
	// DeletePasskey removes one passkey of the user; ENotFound (NoPasskey) if the user has no such passkey.
	DeletePasskey(ctx context.Context, userID, id string) error
}

// TokenReader reads tokens.
type TokenReader interface {
	// Token returns the token (kind, id), expired or not; ENotFound (NoToken) if none.
	Token(ctx context.Context, kind, id string) (*Token, error)
	// ListTokens returns the tokens f selects, oldest (by Created) first.
	ListTokens(ctx context.Context, f TokenFilter) ([]*Token, error)
}

// TokenWriter changes tokens, inside a transaction.
type TokenWriter interface {
	// InsertToken adds t; EConflict (TokenExists) if (Kind, ID) is taken.
	InsertToken(ctx context.Context, t *Token) error
	// TokenForUpdate is Token that locks the token until the transaction ends; ENotFound if none.
	TokenForUpdate(ctx context.Context, kind, id string) (*Token, error)
	// UpdateToken writes t's UserID, AppID, Family, Data and Expires; ENotFound (NoToken) if it is gone.
	UpdateToken(ctx context.Context, t *Token) error
	// DeleteToken removes one token; no error if it is gone.
	DeleteToken(ctx context.Context, kind, id string) error
	// DeleteTokens removes the tokens f selects (Limit ignored) and returns how many.
	DeleteTokens(ctx context.Context, f TokenFilter) (int, error)
	// PruneTokens removes tokens that expired before now.
	PruneTokens(ctx context.Context, now time.Time) (int, error)
}

// AppReader reads OpenID Connect applications and their assignments.
type AppReader interface {
	// App returns the application with the client id; ENotFound (NoApp) if none.
	App(ctx context.Context, id string) (*App, error)
	// ListApps returns every application ordered by name.
	ListApps(ctx context.Context) ([]*App, error)
	// AppAssigned reports whether the user is assigned to the application.
	AppAssigned(ctx context.Context, appID, userID string) (bool, error)
	// ListAppUsers returns the ids of the users assigned to the application.
	ListAppUsers(ctx context.Context, appID string) ([]string, error)
}

// AppWriter changes applications and their assignments, inside a transaction.
type AppWriter interface {
	// InsertApp adds a (its ID and Created set by the caller); EConflict (AppExists) if the id is taken.
	InsertApp(ctx context.Context, a *App) error
	// UpdateApp writes every field of a except ID and Created; ENotFound (NoApp) if it is gone.
	UpdateApp(ctx context.Context, a *App) error
	// DeleteApp removes the application, its assignments and its tokens; ENotFound (NoApp) if none.
	DeleteApp(ctx context.Context, id string) error
	// SetAppAssigned assigns the user to the application, or removes the assignment; assigning
	// a missing user or to a missing application is ENotFound.
	SetAppAssigned(ctx context.Context, appID, userID string, assigned bool) error
}

// KeyReader reads the OpenID Connect signing keys.
type KeyReader interface {
	// ListSigningKeys returns every signing key, newest (by NotBefore) first.
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
}

// KeyWriter changes the signing keys, inside a transaction.
type KeyWriter interface {
	// InsertSigningKey adds a signing key; EConflict (SigningKeyExists) if its id is taken.
	InsertSigningKey(ctx context.Context, k *SigningKey) error
	// DeleteSigningKeys removes the keys that expired before now.
	DeleteSigningKeys(ctx context.Context, now time.Time) (int, error)
}

// SettingReader reads stored settings.
type SettingReader interface {
	// Setting returns the stored value of a setting, or nil when it was never set.
	Setting(ctx context.Context, key string) ([]byte, error)
}

// SettingWriter changes stored settings, inside a transaction.
type SettingWriter interface {
	// PutSetting stores a setting's value.
	PutSetting(ctx context.Context, key string, value []byte) error
	// InsertSetting stores a setting's value only if it has none; it reports whether it did.
	// Two processes racing to create a value thus agree on one.
	InsertSetting(ctx context.Context, key string, value []byte) (bool, error)
	// DeleteSetting removes a setting; no error if it has none.
	DeleteSetting(ctx context.Context, key string) error
}

// CounterReader reads named counters.
type CounterReader interface {
	// Counter returns the committed value of the named counter, 0 if it was never incremented.
	// A reader that sees the same value twice knows that no Increment of it committed in
	// between, on any process: the sign-in engine trusts its lock memory only so long.
	Counter(ctx context.Context, name string) (int64, error)
}

// CounterWriter increments named counters and takes named locks, inside a transaction.
type CounterWriter interface {
	// Increment adds one to the named counter (creating it at 1) and returns the new value. The
	// counter stays locked until the transaction ends, so concurrent increments never lose one
	// and a reader sees the new value exactly when the rest of the transaction is visible.
	Increment(ctx context.Context, name string) (int64, error)
	// Lock takes the named lock until the transaction ends, waiting while another transaction,
	// on this process or any other, holds it: for a rule over a set of rows that no one row's
	// lock guards, such as "one global admin stays". Every transaction that could break the rule
	// takes the lock before it reads the rows the rule is about.
	Lock(ctx context.Context, name string) error
}

// Publisher sends messages to Subscribers, inside a transaction.
type Publisher interface {
	// Publish sends payload (at most 1,000 bytes) to the subscribers of channel when the
	// transaction commits, and nothing when it rolls back.
	Publish(ctx context.Context, channel, payload string) error
}

// ChannelLockoutCleared carries the user id of every account whose lockout an unlock or a
// password reset cleared, so that every process forgets what it remembers of the lock.
const ChannelLockoutCleared = "lockout-cleared"

// Named counters (Counter, Increment) and locks (Lock).
const (
	// CounterLockoutCleared counts the transactions that cleared a lockout (unlock, password
	// reset, deletion): a process that remembers a lock trusts the memory only while this
	// counter stands where it stood when the lock was read, so an unlock made by any process
	// (the CLI included) is seen at once, not when a message arrives.
	CounterLockoutCleared = "lockout-cleared"
	// CounterHeartbeat is the counter /readyz increments to prove that a write commits.
	CounterHeartbeat = "heartbeat"
	// LockGlobalAdmins is the lock taken by every change that could leave no enabled global admin.
	LockGlobalAdmins = "global-admins"
)

// Clock returns the current time. Everything with durations takes one, so tests move time.
type Clock func() time.Time
