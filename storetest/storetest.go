// Package storetest is the one contract suite every portier.Store backend passes, in the
// manner of Dex's storage/conformance: a backend's own _test.go calls RunTests (and
// RunBenchmarks) with a function that opens a fresh, empty store. A behaviour the rest of
// Portier depends on is added here, not to one backend's tests.
//
// The suite is cut by the same areas as the store contract's interfaces: RunUsers checks
// portier.UserReader and UserWriter, RunLockouts the lockout counters, and so on (RunStore
// for Ping, Tx and the shared error messages); RunTests runs them all. Each area's cases live
// in the file of its name (users.go, lockouts.go, logs.go, security.go, apps.go, ...).
//
// The suite is backend-neutral: it uses only the portier.Store interface, runs its subtests one
// after another (so a backend may reset one shared database in newStore), and never closes a
// store itself; newStore registers the Close with t.Cleanup. Times are built from a fixed base
// with microsecond precision, the finest both SQLite and PostgreSQL keep.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// base is the suite's fixed "now": tests that depend on time move from it, never from time.Now,
// so results do not depend on when or how slowly the suite runs.
var base = time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)

// Open returns a new, empty, migrated store and arranges for its Close (t.Cleanup).
type Open func(t *testing.T) portier.Store

// subtest is one case of an area's contract.
type subtest struct {
	name string
	run  func(t *testing.T, s portier.Store)
}

// run runs each case as a subtest on a fresh store; the subtests' names stay flat (no area
// level), so -run patterns written before the split still select them.
func run(t *testing.T, open Open, tests []subtest) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// RunTests runs the whole store contract, every area, against stores made by open.
func RunTests(t *testing.T, open func(t *testing.T) portier.Store) {
	for _, area := range []func(*testing.T, Open){
		RunStore, RunUsers, RunLockouts, RunLogs, RunSessions, RunSettings, RunCounters,
		RunMethods, RunPasskeys, RunTokens, RunApps, RunKeys,
	} {
		area(t, open)
	}
}

// RunStore checks what the Store itself does: Ping, Tx and the errors every area shares.
func RunStore(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"Ping", testPing},
		{"TxRollback", testTxRollback},
		{"ErrorMessages", testErrorMessages},
	})
}

// RunUsers checks portier.UserReader and portier.UserWriter.
func RunUsers(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"UserRoundTrip", testUserRoundTrip},
		{"UserNotFound", testUserNotFound},
		{"UserUPNUnique", testUserUPNUnique},
		{"UserByUPNFoldsCase", testUserByUPNFoldsCase},
		{"UserUpdate", testUserUpdate},
		{"UserDelete", testUserDelete},
		{"InsertUsers", testInsertUsers},
		{"InsertUsersConflictAddsNothing", testInsertUsersConflict},
		{"ListUsersPaging", testListUsersPaging},
		{"ListUsersFilters", testListUsersFilters},
		{"ListUsersSearch", testListUsersSearch},
		{"FindUsers", testFindUsers},
		{"ConcurrentUserUpdates", testConcurrentUserUpdates},
	})
}

// RunLockouts checks portier.LockoutReader and portier.LockoutWriter, the copy of a user's
// lock in the "locked" listing included.
func RunLockouts(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"LockoutZero", testLockoutZero},
		{"LockoutRoundTrip", testLockoutRoundTrip},
		{"LockoutOnUserReads", testLockoutOnUserReads},
		{"LockoutBucketsIndependent", testLockoutBuckets},
		{"DeleteLockouts", testDeleteLockouts},
		{"PruneLockouts", testPruneLockouts},
		{"PruneLockoutsCap", testPruneLockoutsCap},
		{"SwapLockout", testSwapLockout},
		{"ConcurrentSwaps", testConcurrentSwaps},
		{"SettleSignIn", testSettleSignIn},
		{"ReadAttempt", testReadAttempt},
		{"ChargeAttempt", testChargeAttempt},
		{"LockedListingFollowsCounter", testLockedListingFollowsCounter},
		{"ConcurrentChargesStopAtThreshold", testConcurrentCharges},
		{"ConcurrentChargeAndFailLocks", testConcurrentChargeAndFail},
	})
}

// RunLogs checks portier.LogReader and portier.LogWriter.
func RunLogs(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"Audit", testAudit},
		{"SignIns", testSignIns},
		{"RecordSignInsAllOrNone", testRecordSignInsAllOrNone},
		{"PruneSignIns", testPruneSignIns},
		{"FlagSignIns", testFlagSignIns},
	})
}

// RunSessions checks portier.SessionReader and portier.SessionWriter.
func RunSessions(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"Sessions", testSessions},
		{"PruneSessions", testPruneSessions},
	})
}

// RunSettings checks portier.SettingReader and portier.SettingWriter.
func RunSettings(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"Settings", testSettings},
		{"InsertSetting", testInsertSetting},
		{"DeleteSetting", testDeleteSetting},
	})
}

// RunCounters checks portier.CounterReader, portier.CounterWriter, and the Publisher and
// Subscriber that carry messages between processes.
func RunCounters(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"PublishSubscribe", testPublishSubscribe},
		{"Counters", testCounters},
		{"ConcurrentIncrementsAllCount", testConcurrentIncrements},
	})
}

// RunMethods checks portier.MethodReader and portier.MethodWriter.
func RunMethods(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"Methods", testMethods},
		{"ConcurrentMethodUpdates", testConcurrentMethodUpdates},
		{"DeleteUserRemovesSecurityInfo", testDeleteUserSecurity},
	})
}

// RunTokens checks portier.TokenReader and portier.TokenWriter.
func RunTokens(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"Tokens", testTokens},
		{"ConcurrentTokenUpdates", testConcurrentTokenUpdates},
		{"DeleteTokens", testDeleteTokens},
		{"ListTokens", testListTokens},
		{"PruneTokens", testPruneTokens},
	})
}

// RunApps checks portier.AppReader and portier.AppWriter.
func RunApps(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"Apps", testApps},
		{"AppAssignments", testAppAssignments},
		{"DeleteAppRemovesAssignmentsAndTokens", testDeleteAppCascade},
	})
}

// RunKeys checks portier.KeyReader and portier.KeyWriter.
func RunKeys(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"SigningKeys", testSigningKeys},
	})
}

func testPing(t *testing.T, s portier.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// inTx runs fn in a transaction and fails the test if it does not commit.
func inTx(t testing.TB, s portier.Store, fn func(ctx context.Context, tx portier.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.Tx(ctx, func(tx portier.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Tx: %v", err)
	}
}

// idsOf lists the IDs of items, in their order; nil for none.
func idsOf[T any](items []T, id func(T) string) []string {
	var ids []string
	for _, it := range items {
		ids = append(ids, id(it))
	}
	return ids
}

// insertEach adds items in one transaction with insert (a Tx method); name says which item
// failed.
func insertEach[T any](t testing.TB, s portier.Store, items []T, name func(T) string, insert func(portier.Tx, context.Context, T) error) {
	t.Helper()
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		for _, it := range items {
			if err := insert(tx, ctx, it); err != nil {
				return fmt.Errorf("insert %s: %w", name(it), err)
			}
		}
		return nil
	})
}

// insertUsers adds users in one transaction.
func insertUsers(t testing.TB, s portier.Store, users ...*portier.User) {
	t.Helper()
	insertEach(t, s, users, func(u *portier.User) string { return "user " + u.UPN }, portier.Tx.InsertUser)
}

// putLockout writes one counter in its own transaction.
func putLockout(t testing.TB, s portier.Store, key, bucket string, st lockout.State) {
	t.Helper()
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.PutLockout(ctx, key, bucket, st) })
}

// wantCode fails the test unless err carries the portier error code.
func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := portier.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// newTestUser returns a user with every field set, distinct per i.
func newTestUser(i int) *portier.User {
	last := base.Add(-time.Duration(i) * time.Minute)
	return &portier.User{
		ID:                portier.NewID(),
		UPN:               fmt.Sprintf("user%05d@example.org", i),
		DisplayName:       fmt.Sprintf("User %05d", i),
		Mail:              fmt.Sprintf("user%05d@mail.example.org", i),
		AccountEnabled:    true,
		PasswordProfile:   portier.PasswordProfile{ForceChangePasswordNextSignIn: i%2 == 0},
		Roles:             nil,
		LastSignIn:        &last,
		Created:           base.Add(-48 * time.Hour),
		SessionsValidFrom: base.Add(-24 * time.Hour),
		PasswordChanged:   base.Add(-36 * time.Hour),
		Language:          "nl",
		// Distinct per i and past 32 bits, so a column too narrow or left out shows.
		CredentialGeneration: int64(i) + 1<<33,
		PasswordHash:         fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ%05d$aGFzaGhhc2g", i),
	}
}

// sameTime reports whether got is want, and, unless zero, in UTC as the contract asks.
func sameTime(got, want time.Time) bool {
	if !got.Equal(want) || got.IsZero() != want.IsZero() {
		return false
	}
	return got.IsZero() || got.Location() == time.UTC
}

// checkUserByUPN reads the user named upn outside a transaction and compares it with want.
func checkUserByUPN(t testing.TB, s portier.Store, upn string, want *portier.User) {
	t.Helper()
	got, err := s.UserByUPN(t.Context(), upn)
	if err != nil {
		t.Fatalf("UserByUPN(%q): %v", upn, err)
	}
	checkUser(t, got, want)
}

// checkUser compares every stored field of a user, LockoutState included.
func checkUser(t testing.TB, got, want *portier.User) {
	t.Helper()
	if got == nil {
		t.Fatalf("user %s: got nil", want.UPN)
	}
	var diffs []string
	diff := func(field string, g, w any) { diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w)) }
	if got.ID != want.ID {
		diff("ID", got.ID, want.ID)
	}
	if got.UPN != want.UPN {
		diff("UPN", got.UPN, want.UPN)
	}
	if got.DisplayName != want.DisplayName {
		diff("DisplayName", got.DisplayName, want.DisplayName)
	}
	if got.Mail != want.Mail {
		diff("Mail", got.Mail, want.Mail)
	}
	if got.AccountEnabled != want.AccountEnabled {
		diff("AccountEnabled", got.AccountEnabled, want.AccountEnabled)
	}
	if got.PasswordProfile != want.PasswordProfile {
		diff("PasswordProfile", got.PasswordProfile, want.PasswordProfile)
	}
	// nil and empty role lists mean the same: a plain user.
	if !slices.Equal(got.Roles, want.Roles) {
		diff("Roles", got.Roles, want.Roles)
	}
	switch {
	case (got.LastSignIn == nil) != (want.LastSignIn == nil):
		diff("LastSignIn", got.LastSignIn, want.LastSignIn)
	case got.LastSignIn != nil && !sameTime(*got.LastSignIn, *want.LastSignIn):
		diff("LastSignIn", *got.LastSignIn, *want.LastSignIn)
	}
	if !sameTime(got.Created, want.Created) {
		diff("Created", got.Created, want.Created)
	}
	if !sameTime(got.SessionsValidFrom, want.SessionsValidFrom) {
		diff("SessionsValidFrom", got.SessionsValidFrom, want.SessionsValidFrom)
	}
	if !sameTime(got.PasswordChanged, want.PasswordChanged) {
		diff("PasswordChanged", got.PasswordChanged, want.PasswordChanged)
	}
	if got.CredentialGeneration != want.CredentialGeneration {
		diff("CredentialGeneration", got.CredentialGeneration, want.CredentialGeneration)
	}
	if got.Language != want.Language {
		diff("Language", got.Language, want.Language)
	}
	if got.PasswordHash != want.PasswordHash {
		diff("PasswordHash", got.PasswordHash, want.PasswordHash)
	}
	if d := stateDiff(got.LockoutState, want.LockoutState); d != "" {
		diff("LockoutState", d, "")
	}
	if len(diffs) > 0 {
		t.Fatalf("user %s:\n%s", want.UPN, joinLines(diffs))
	}
}

// stateDiff describes how got differs from want, "" when they agree.
func stateDiff(got, want lockout.State) string {
	var diffs []string
	if got.Failures != want.Failures {
		diffs = append(diffs, fmt.Sprintf("Failures = %d, want %d", got.Failures, want.Failures))
	}
	if !sameTime(got.LockedUntil, want.LockedUntil) {
		diffs = append(diffs, fmt.Sprintf("LockedUntil = %v, want %v", got.LockedUntil, want.LockedUntil))
	}
	if got.Lockouts != want.Lockouts {
		diffs = append(diffs, fmt.Sprintf("Lockouts = %d, want %d", got.Lockouts, want.Lockouts))
	}
	if got.LockFailures != want.LockFailures {
		diffs = append(diffs, fmt.Sprintf("LockFailures = %d, want %d", got.LockFailures, want.LockFailures))
	}
	if !sameTime(got.LastFailure, want.LastFailure) {
		diffs = append(diffs, fmt.Sprintf("LastFailure = %v, want %v", got.LastFailure, want.LastFailure))
	}
	if !slices.Equal(got.Recent, want.Recent) {
		diffs = append(diffs, fmt.Sprintf("Recent = %x, want %x", got.Recent, want.Recent))
	}
	return joinLines(diffs)
}

func checkState(t testing.TB, what string, got, want lockout.State) {
	t.Helper()
	if d := stateDiff(got, want); d != "" {
		t.Fatalf("%s:\n%s", what, d)
	}
}

func joinLines(lines []string) string {
	s := ""
	for i, l := range lines {
		if i > 0 {
			s += "\n"
		}
		s += "\t" + l
	}
	return s
}
