package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portier-id/portier"
)

func testAudit(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := portier.NewID(), portier.NewID()
	events := []*portier.AuditEvent{
		{Time: base, Actor: "cli:root", Action: portier.ActionCreate, TargetID: alice, Target: "alice@example.org", Source: "cli", Outcome: portier.OutcomeSuccess},
		{Time: base.Add(1 * time.Minute), Actor: "admin@example.org", ActorID: "admin-id", Action: portier.ActionResetPassword, TargetID: alice, Target: "alice@example.org", Source: "192.0.2.1", Outcome: portier.OutcomeSuccess},
		{Time: base.Add(2 * time.Minute), Actor: "helpdesk@example.org", ActorID: "hd-id", Action: portier.ActionDelete, TargetID: bob, Target: "bob@example.org", Source: "2001:db8::1", Outcome: portier.OutcomeRefused, Detail: "a helpdesk admin may not delete users"},
		{Time: base.Add(3 * time.Minute), Actor: "admin@example.org", ActorID: "admin-id", Action: portier.ActionUnlock, TargetID: bob, Target: "bob@example.org", Source: "192.0.2.1", Outcome: portier.OutcomeSuccess},
		{Time: base.Add(4 * time.Minute), Actor: "admin@example.org", ActorID: "admin-id", Action: portier.ActionEditSettings, Source: "192.0.2.1", Outcome: portier.OutcomeFailure, Detail: "The lockout threshold must be at least 1."},
	}
	for _, ev := range events {
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.AppendAudit(ctx, ev) })
	}
	ids := map[int64]bool{}
	for _, ev := range events {
		if ev.ID <= 0 || ids[ev.ID] {
			t.Fatalf("AppendAudit set ID %d, want a new positive ID", ev.ID)
		}
		ids[ev.ID] = true
	}
	// want lists events[i] for each i, newest first.
	want := func(idx ...int) []*portier.AuditEvent {
		var out []*portier.AuditEvent
		for _, i := range idx {
			out = append(out, events[i])
		}
		return out
	}
	cases := []struct {
		name string
		f    portier.AuditFilter
		want []*portier.AuditEvent
	}{
		{"all", portier.AuditFilter{}, want(4, 3, 2, 1, 0)},
		{"target", portier.AuditFilter{TargetID: alice}, want(1, 0)},
		{"actor", portier.AuditFilter{Actor: "admin@example.org"}, want(4, 3, 1)},
		{"action", portier.AuditFilter{Action: portier.ActionDelete}, want(2)},
		{"outcome", portier.AuditFilter{Outcome: portier.OutcomeRefused}, want(2)},
		{"since", portier.AuditFilter{Since: base.Add(90 * time.Second)}, want(4, 3, 2)},
		{"until, inclusive", portier.AuditFilter{Until: base.Add(time.Minute)}, want(1, 0)},
		{"since and until", portier.AuditFilter{Since: base.Add(time.Minute), Until: base.Add(3 * time.Minute)}, want(3, 2, 1)},
		{"any of actions", portier.AuditFilter{Actions: []portier.Action{portier.ActionUnlock, portier.ActionCreate}}, want(3, 0)},
		{"actions and target", portier.AuditFilter{Actions: []portier.Action{portier.ActionUnlock, portier.ActionCreate}, TargetID: bob}, want(3)},
		{"limit", portier.AuditFilter{Limit: 2}, want(4, 3)},
		{"before", portier.AuditFilter{Before: events[3].ID, Limit: 2}, want(2, 1)},
		{"before, last page", portier.AuditFilter{Before: events[1].ID, Limit: 2}, want(0)},
		{"actor and before", portier.AuditFilter{Actor: "admin@example.org", Before: events[4].ID}, want(3, 1)},
		{"nothing", portier.AuditFilter{TargetID: "nobody"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tc.f)
			if err != nil {
				t.Fatalf("ListAudit: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ListAudit %+v: %d events, want %d", tc.f, len(got), len(tc.want))
			}
			for i := range got {
				checkAudit(t, got[i], tc.want[i])
			}
		})
	}
}

func checkAudit(t *testing.T, got, want *portier.AuditEvent) {
	t.Helper()
	g, w := *got, *want
	if !sameTime(g.Time, w.Time) {
		t.Fatalf("audit event %d: time %v, want %v", w.ID, g.Time, w.Time)
	}
	g.Time, w.Time = time.Time{}, time.Time{}
	if g != w {
		t.Fatalf("audit event:\n got  %+v\n want %+v", g, w)
	}
}

// signInLog is a sign-in log of two users, an unknown name and a success, a minute apart.
func signInLog(aliceID, bobID string) []*portier.SignIn {
	return []*portier.SignIn{
		{Time: base, Username: "alice@example.org", UserID: aliceID, Source: "192.0.2.1", UserAgent: "Firefox", Code: portier.CodeInvalidCredentials, HashComputed: true, Process: "p1"},
		{Time: base.Add(1 * time.Minute), Username: "alice@example.org", UserID: aliceID, Source: "192.0.2.1", UserAgent: "Firefox", Code: portier.CodeSuccess, FamiliarDevice: true, HashComputed: true, Process: "p1"},
		{Time: base.Add(2 * time.Minute), Username: "nobody@example.org", Source: "198.51.100.7", UserAgent: "curl/8", Code: portier.CodeInvalidCredentials, HashComputed: true, Process: "p2", Detail: "unknown user"},
		{Time: base.Add(3 * time.Minute), Username: "bob@example.org", UserID: bobID, Source: "198.51.100.7", UserAgent: "curl/8", Code: portier.CodeLocked, Process: "p2", Detail: "locked until 05:10"},
		{Time: base.Add(4 * time.Minute), Username: "bob@example.org", UserID: bobID, Source: "2001:db8::5", UserAgent: "Safari", Code: portier.CodeBlocked, Process: "p1"},
		{Time: base.Add(5 * time.Minute), Username: "alice@example.org", UserID: aliceID, Source: "2001:db8::5", UserAgent: "Safari", Code: portier.CodeBadRequest, Process: "p1", Detail: "bad CSRF token"},
	}
}

func testSignIns(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := portier.NewID(), portier.NewID()
	entries := signInLog(alice, bob)
	// An append in a Tx, then several entries at once in a transaction of their own, as the
	// batching logger writes them.
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.AppendSignIns(ctx, entries[:1]) })
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.AppendSignIns(ctx, nil) })
	if err := s.RecordSignIns(ctx, entries[1:]); err != nil {
		t.Fatalf("RecordSignIns: %v", err)
	}
	if err := s.RecordSignIns(ctx, nil); err != nil {
		t.Fatalf("RecordSignIns of nothing: %v", err)
	}
	ids := map[int64]bool{}
	for _, e := range entries {
		if e.ID <= 0 || ids[e.ID] {
			t.Fatalf("AppendSignIns set ID %d, want a new positive ID", e.ID)
		}
		ids[e.ID] = true
	}
	want := func(idx ...int) []*portier.SignIn {
		var out []*portier.SignIn
		for _, i := range idx {
			out = append(out, entries[i])
		}
		return out
	}
	code := func(c int) *int { return &c }
	cases := []struct {
		name string
		f    portier.SignInFilter
		want []*portier.SignIn
	}{
		{"all", portier.SignInFilter{}, want(5, 4, 3, 2, 1, 0)},
		{"user id", portier.SignInFilter{UserID: alice}, want(5, 1, 0)},
		{"user name", portier.SignInFilter{Username: "nobody@example.org"}, want(2)},
		{"code", portier.SignInFilter{Code: code(portier.CodeInvalidCredentials)}, want(2, 0)},
		{"code success", portier.SignInFilter{Code: code(portier.CodeSuccess)}, want(1)},
		{"source", portier.SignInFilter{Source: "198.51.100.7"}, want(3, 2)},
		{"since", portier.SignInFilter{Since: base.Add(150 * time.Second)}, want(5, 4, 3)},
		{"until", portier.SignInFilter{Until: base.Add(90 * time.Second)}, want(1, 0)},
		{"since and until", portier.SignInFilter{Since: base.Add(30 * time.Second), Until: base.Add(210 * time.Second)}, want(3, 2, 1)},
		{"user and code", portier.SignInFilter{UserID: bob, Code: code(portier.CodeBlocked)}, want(4)},
		{"limit", portier.SignInFilter{Limit: 4}, want(5, 4, 3, 2)},
		{"before", portier.SignInFilter{Before: entries[2].ID, Limit: 4}, want(1, 0)},
		{"user id and before", portier.SignInFilter{UserID: alice, Before: entries[5].ID, Limit: 1}, want(1)},
		{"nothing", portier.SignInFilter{Source: "203.0.113.9"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListSignIns(ctx, tc.f)
			if err != nil {
				t.Fatalf("ListSignIns: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ListSignIns %+v: %d entries, want %d", tc.f, len(got), len(tc.want))
			}
			for i := range got {
				checkSignIn(t, got[i], tc.want[i])
			}
		})
	}
	t.Run("paging", func(t *testing.T) {
		var got []int64
		f := portier.SignInFilter{Limit: 2}
		for {
			page, err := s.ListSignIns(ctx, f)
			if err != nil {
				t.Fatalf("ListSignIns: %v", err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				got = append(got, e.ID)
			}
			f.Before = page[len(page)-1].ID
		}
		var wantIDs []int64
		for i := len(entries) - 1; i >= 0; i-- {
			wantIDs = append(wantIDs, entries[i].ID)
		}
		if !slices.Equal(got, wantIDs) {
			t.Fatalf("paged IDs %v, want %v", got, wantIDs)
		}
	})
}

func checkSignIn(t *testing.T, got, want *portier.SignIn) {
	t.Helper()
	g, w := *got, *want
	if !sameTime(g.Time, w.Time) {
		t.Fatalf("sign-in %d: time %v, want %v", w.ID, g.Time, w.Time)
	}
	g.Time, w.Time = time.Time{}, time.Time{}
	if g != w {
		t.Fatalf("sign-in:\n got  %+v\n want %+v", g, w)
	}
}

// testRecordSignInsAllOrNone: a batch with an entry the store refuses (PostgreSQL takes no
// NUL in text) adds none of its entries; a store that takes it adds them all.
func testRecordSignInsAllOrNone(t *testing.T, s portier.Store) {
	ctx := t.Context()
	entries := signInLog(portier.NewID(), portier.NewID())
	entries[3].Username = "bad\x00name@example.org"
	err := s.RecordSignIns(ctx, entries)
	got, lerr := s.ListSignIns(ctx, portier.SignInFilter{})
	if lerr != nil {
		t.Fatalf("ListSignIns: %v", lerr)
	}
	if err != nil && len(got) != 0 {
		t.Fatalf("RecordSignIns failed (%v) yet added %d of the batch's %d entries", err, len(got), len(entries))
	}
	if err == nil && len(got) != len(entries) {
		t.Fatalf("RecordSignIns succeeded yet added %d of %d entries", len(got), len(entries))
	}
	// The store goes on: the next batch is added.
	if err := s.RecordSignIns(ctx, signInLog(portier.NewID(), portier.NewID())[:2]); err != nil {
		t.Fatalf("RecordSignIns after a refused batch: %v", err)
	}
}

func testPruneSignIns(t *testing.T, s portier.Store) {
	ctx := t.Context()
	entries := signInLog(portier.NewID(), portier.NewID())
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.AppendSignIns(ctx, entries) })
	var pruned int
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		var err error
		pruned, err = tx.PruneSignIns(ctx, base.Add(150*time.Second))
		return err
	})
	if pruned != 3 {
		t.Fatalf("PruneSignIns = %d, want 3", pruned)
	}
	got, err := s.ListSignIns(ctx, portier.SignInFilter{})
	if err != nil {
		t.Fatalf("ListSignIns: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries left, want 3", len(got))
	}
	for i, e := range got {
		checkSignIn(t, e, entries[5-i])
	}
}

func testSessions(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := newTestUser(1), newTestUser(2)
	insertUsers(t, s, alice, bob)
	sessions := []*portier.Session{
		{IDHash: []byte("hash-a1\x00\xff"), UserID: alice.ID, Created: base, LastSeen: base.Add(time.Minute), Expires: base.Add(8 * time.Hour), Source: "192.0.2.1", UserAgent: "Firefox", AMR: []string{"pwd", "otp", "mfa"}},
		{IDHash: []byte("hash-a2"), UserID: alice.ID, Created: base.Add(time.Hour), LastSeen: base.Add(time.Hour), Expires: base.Add(9 * time.Hour), Source: "2001:db8::1", UserAgent: "Safari"},
		{IDHash: []byte("hash-b1"), UserID: bob.ID, Created: base.Add(30 * time.Minute), LastSeen: base.Add(30 * time.Minute), Expires: base.Add(8 * time.Hour), Source: "198.51.100.7", UserAgent: "curl/8"},
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		for _, sess := range sessions {
			if err := tx.InsertSession(ctx, sess); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range sessions {
		got, err := s.SessionByHash(ctx, want.IDHash)
		if err != nil {
			t.Fatalf("SessionByHash(%q): %v", want.IDHash, err)
		}
		checkSession(t, got, want)
	}
	_, err := s.SessionByHash(ctx, []byte("hash-a"))
	wantCode(t, "SessionByHash of an unknown hash", err, portier.ENotFound)

	list, err := s.ListSessions(ctx, alice.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSessions = %d, %v; want 2", len(list), err)
	}
	checkSession(t, list[0], sessions[1]) // newest first
	checkSession(t, list[1], sessions[0])

	t.Run("sources", func(t *testing.T) {
		sources := func(now, seenSince time.Time, limit int) []string {
			t.Helper()
			got, err := s.SessionSources(ctx, now, seenSince, limit)
			if err != nil {
				t.Fatalf("SessionSources: %v", err)
			}
			slices.Sort(got)
			return got
		}
		if got := sources(base, base, 10); !slices.Equal(got, []string{"192.0.2.1", "198.51.100.7", "2001:db8::1"}) {
			t.Fatalf("SessionSources = %q, want every source once", got)
		}
		// Last seen before seenSince: bob's (30 min) and alice's first (1 min) are left out.
		if got := sources(base, base.Add(time.Hour), 10); !slices.Equal(got, []string{"2001:db8::1"}) {
			t.Fatalf("SessionSources seen since 1 h = %q, want the one seen then", got)
		}
		// Expired at now: only alice's second (9 h) is left.
		if got := sources(base.Add(8*time.Hour), base, 10); !slices.Equal(got, []string{"2001:db8::1"}) {
			t.Fatalf("SessionSources at 8 h = %q, want the one not expired", got)
		}
		if got := sources(base, base, 2); len(got) != 2 {
			t.Fatalf("SessionSources with a limit of 2 = %q", got)
		}
	})

	t.Run("touch", func(t *testing.T) {
		seen := base.Add(2 * time.Hour)
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.TouchSession(ctx, sessions[0].IDHash, seen) })
		got, err := s.SessionByHash(ctx, sessions[0].IDHash)
		if err != nil {
			t.Fatalf("SessionByHash: %v", err)
		}
		want := *sessions[0]
		want.LastSeen = seen
		checkSession(t, got, &want)
		err = s.Tx(ctx, func(tx portier.Tx) error { return tx.TouchSession(ctx, []byte("gone"), seen) })
		wantCode(t, "TouchSession of an unknown session", err, portier.ENotFound)
	})
	t.Run("delete", func(t *testing.T) {
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteSession(ctx, sessions[2].IDHash) })
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteSession(ctx, sessions[2].IDHash) })
		_, err := s.SessionByHash(ctx, sessions[2].IDHash)
		wantCode(t, "SessionByHash after DeleteSession", err, portier.ENotFound)
		if _, err := s.SessionByHash(ctx, sessions[0].IDHash); err != nil {
			t.Fatalf("another session went too: %v", err)
		}
	})
	t.Run("delete all of a user", func(t *testing.T) {
		var n int
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
			var err error
			n, err = tx.DeleteUserSessions(ctx, alice.ID)
			return err
		})
		if n != 2 {
			t.Fatalf("DeleteUserSessions = %d, want 2", n)
		}
		if list, err := s.ListSessions(ctx, alice.ID); err != nil || len(list) != 0 {
			t.Fatalf("ListSessions after DeleteUserSessions = %d, %v; want none", len(list), err)
		}
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
			var err error
			n, err = tx.DeleteUserSessions(ctx, alice.ID)
			return err
		})
		if n != 0 {
			t.Fatalf("second DeleteUserSessions = %d, want 0", n)
		}
	})
}

func checkSession(t *testing.T, got, want *portier.Session) {
	t.Helper()
	if !bytes.Equal(got.IDHash, want.IDHash) || got.UserID != want.UserID || got.Source != want.Source || got.UserAgent != want.UserAgent ||
		!sameTime(got.Created, want.Created) || !sameTime(got.LastSeen, want.LastSeen) || !sameTime(got.Expires, want.Expires) ||
		!slices.Equal(got.AMR, want.AMR) {
		t.Fatalf("session:\n got  %+v\n want %+v", got, want)
	}
}

func testPruneSessions(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	insertUsers(t, s, u)
	var sessions []*portier.Session
	for i := range 5 {
		sessions = append(sessions, &portier.Session{
			IDHash: []byte(fmt.Sprintf("session-%d", i)), UserID: u.ID,
			Created: base, LastSeen: base, Expires: base.Add(time.Duration(i) * time.Hour),
		})
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		for _, sess := range sessions {
			if err := tx.InsertSession(ctx, sess); err != nil {
				return err
			}
		}
		return nil
	})
	var pruned int
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		var err error
		pruned, err = tx.PruneSessions(ctx, base.Add(150*time.Minute))
		return err
	})
	if pruned != 3 {
		t.Fatalf("PruneSessions = %d, want 3", pruned)
	}
	for i, sess := range sessions {
		_, err := s.SessionByHash(ctx, sess.IDHash)
		if i < 3 {
			wantCode(t, "expired session", err, portier.ENotFound)
		} else if err != nil {
			t.Fatalf("live session %d: %v", i, err)
		}
	}
}

func testSettings(t *testing.T, s portier.Store) {
	ctx := t.Context()
	if v, err := s.Setting(ctx, portier.SettingsKey); err != nil || v != nil {
		t.Fatalf("unset Setting = %q, %v; want nil, nil", v, err)
	}
	put := func(key, value string) {
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.PutSetting(ctx, key, []byte(value)) })
	}
	put(portier.SettingsKey, `{"orgName":"Acme"}`)
	put("other", "x")
	put(portier.SettingsKey, `{"orgName":"Acme B.V."}`)
	for key, want := range map[string]string{portier.SettingsKey: `{"orgName":"Acme B.V."}`, "other": "x"} {
		got, err := s.Setting(ctx, key)
		if err != nil || string(got) != want {
			t.Fatalf("Setting(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		got, err := tx.Setting(ctx, "other")
		if err != nil || string(got) != "x" {
			return fmt.Errorf("Tx.Setting = %q, %v; want x", got, err)
		}
		return nil
	})
}

func testInsertSetting(t *testing.T, s portier.Store) {
	ctx := t.Context()
	insert := func(key, value string) bool {
		var stored bool
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
			var err error
			stored, err = tx.InsertSetting(ctx, key, []byte(value))
			return err
		})
		return stored
	}
	if !insert("setup", "first") {
		t.Fatalf("InsertSetting of an unset key did not store")
	}
	if insert("setup", "second") {
		t.Fatalf("InsertSetting of a set key stored")
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.PutSetting(ctx, "put", []byte("put")) })
	if insert("put", "inserted") {
		t.Fatalf("InsertSetting over PutSetting stored")
	}
	for key, want := range map[string]string{"setup": "first", "put": "put"} {
		if got, err := s.Setting(ctx, key); err != nil || string(got) != want {
			t.Fatalf("Setting(%q) = %q, %v; want %q", key, got, err, want)
		}
	}

	// Racing processes agree on one value: exactly one insert wins, and its value stays.
	var won []int
	var mu sync.Mutex
	runParallel(t, 20, func(i int) error {
		return s.Tx(ctx, func(tx portier.Tx) error {
			stored, err := tx.InsertSetting(ctx, "race", []byte(strconv.Itoa(i)))
			if stored {
				mu.Lock()
				won = append(won, i)
				mu.Unlock()
			}
			return err
		})
	})
	if len(won) != 1 {
		t.Fatalf("%d racing inserts stored, want exactly 1", len(won))
	}
	if got, err := s.Setting(ctx, "race"); err != nil || string(got) != strconv.Itoa(won[0]) {
		t.Fatalf("Setting(race) = %q, %v; want the winner's %d", got, err, won[0])
	}
}
