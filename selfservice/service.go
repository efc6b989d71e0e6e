// Package selfservice is self-service password reset and unlock, the security info it relies
// on (alternate email addresses and authenticator apps), and the mails that go with them:
// verification codes, lockout notices with their "This wasn't me" link, and reset notices.
// It knows nothing of HTTP: the web package drives it.
//
// Codes are 8 digits from crypto/rand, valid 10 minutes, single use, dead after 5 wrong tries,
// kept only as an HMAC under the server secret and compared in constant time. An unknown user
// name walks through the same steps with the same store work and no mail, so nothing tells it
// apart from a known one.
//
// Structure: every flow (a reset in progress, an enrollment, a "This wasn't me" link, a queued
// mail) is a typed value kept in the token store by a flowStore (flowstore.go), the one place
// that loads, saves and ends it, checking its kind and expiry. A reset passes methods through
// one step, pass, that runs the method's verifier (emailCode, authenticatorCode): a new method
// adds a verifier. The package declares the store methods it uses (Store, OutboxStore).
package selfservice

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"net/netip"
	"strings"
	"time"
	"unicode"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/lockout"
)

// Code rules.
const (
	CodeDigits   = 8
	CodeLifetime = 10 * time.Minute
	CodeTries    = 5
	// FlowLifetime bounds a self-service reset from the user name to the new password.
	FlowLifetime = 20 * time.Minute
	// ReportLifetime is how long the "This wasn't me" link of a lockout mail works.
	ReportLifetime = 7 * 24 * time.Hour
)

// Rate limits, each over an hour: codes per user (or typed name), codes per source address,
// and resets started per source address.
var (
	userSendPolicy   = lockout.Policy{Threshold: 5, Duration: time.Hour, MaxDuration: time.Hour, Decay: time.Hour}
	sourceSendPolicy = lockout.Policy{Threshold: 20, Duration: time.Hour, MaxDuration: time.Hour, Decay: time.Hour}
	// sourceStartPolicy bounds the resets one source address starts in an hour, so that
	// nobody fills the store with flows (or the audit log with refusals).
	sourceStartPolicy = lockout.Policy{Threshold: 60, Duration: time.Hour, MaxDuration: time.Hour, Decay: time.Hour}
)

// Store is what self-service reads of the store outside a transaction, and its transactions;
// a portier.Store is one.
type Store interface {
	reader
	UserByUPN(ctx context.Context, upn string) (*portier.User, error)
	Tx(ctx context.Context, fn func(tx portier.Tx) error) error
}

// reader is what self-service reads both outside and inside a transaction.
type reader interface {
	tokenReader
	UserByID(ctx context.Context, id string) (*portier.User, error)
	ListMethods(ctx context.Context, userID string) ([]*portier.AuthMethod, error)
}

// Service is self-service password reset and security info. Create it with New.
type Service struct {
	store   Store
	dir     *directory.Service
	secret  []byte
	now     portier.Clock
	log     *slog.Logger
	baseURL string
	mailer  *Mailer
	floor   time.Duration
}

// Config is what New needs.
type Config struct {
	Store     Store
	Directory *directory.Service
	// Secret keys the code HMACs and seals queued mail; shared by every process on one store.
	Secret []byte
	Now    portier.Clock
	Log    *slog.Logger
	// BaseURL is the public URL, for links in mails.
	BaseURL string
	// Mailer queues and sends the mails.
	Mailer *Mailer
	// StepFloor is the least time the steps a stranger can reach (start, send a code, check a
	// code) take; zero means DefaultStepFloor.
	StepFloor time.Duration
}

// DefaultStepFloor pads the answer of every step a stranger can reach to one duration, longer
// than any of them takes (about 0.5 to 2.5 ms measured, see BENCHMARKS.md), so that whether a
// name is a user, or an address theirs, does not show in the time either; the send limits
// leave a guesser only a few tries an hour to average over besides.
const DefaultStepFloor = 15 * time.Millisecond

// New returns the service.
func New(c Config) *Service {
	return &Service{
		store: c.Store, dir: c.Directory, secret: c.Secret, now: c.Now, log: c.Log,
		baseURL: strings.TrimSuffix(c.BaseURL, "/"), mailer: c.Mailer, floor: cmp.Or(c.StepFloor, DefaultStepFloor),
	}
}

// pad waits, in real time, until the step that started at start has taken the floor, or
// until the request is gone.
func (s *Service) pad(ctx context.Context, start time.Time) {
	t := time.NewTimer(s.floor - time.Since(start))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// newCode returns a uniformly random code of CodeDigits digits.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return fmt.Sprintf("%0*d", CodeDigits, n)
}

// codeMAC is what is stored of a code: an HMAC under the server secret, bound to what the
// code is for, so a stolen database row does not give the code away to a quick search.
func (s *Service) codeMAC(purpose, id, code string) []byte {
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "portier code\x00%s\x00%s\x00%s", purpose, id, code)
	return m.Sum(nil)
}

// codeMatches compares a typed code with a stored MAC in constant time.
func (s *Service) codeMatches(stored []byte, purpose, id, typed string) bool {
	return hmac.Equal(stored, s.codeMAC(purpose, id, normalizeCode(typed)))
}

// normalizeCode drops the white space (any kind, anywhere) and dashes people type or paste
// around and inside codes. Nothing else is forgiven: leading zeros added, or digits of
// another script, make a code of another length or text, which is a wrong code and counts.
// Codes are compared only after this, so no spelling of a used code is a fresh one.
func normalizeCode(c string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' {
			return -1
		}
		return r
	}, c)
}

// newSecret returns a random 256-bit secret (hex) and the token ID that stands for it.
func newSecret() (secret, id string) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = hex.EncodeToString(b)
	return secret, TokenID(secret)
}

// TokenID is the store ID of a token that stands for a secret: its SHA-256, in hex.
func TokenID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// limit is one counter of a rate limit: its store key and its policy.
type limit struct {
	key    string
	policy lockout.Policy
}

// sendLimits are the counters a code sent to key (a user id, or a typed name's) counts on.
func sendLimits(key, source string) []limit {
	return []limit{{"send:" + key, userSendPolicy}, {"send:" + sourceKey(source), sourceSendPolicy}}
}

// sourceKey is the counter key of a source address: the IPv4 address, or the IPv6 /64.
func sourceKey(source string) string {
	if addr, err := netip.ParseAddr(source); err == nil {
		return lockout.Source(addr).Key
	}
	return source
}

// charge counts one event on every counter of limits; when any of them is at its limit it
// counts nothing and returns when the limit lifts, else the zero time.
func charge(ctx context.Context, tx portier.Tx, now time.Time, limits ...limit) (time.Time, error) {
	states := make([]lockout.State, len(limits))
	for i, l := range limits {
		st, err := tx.LockoutForUpdate(ctx, l.key, "")
		if err != nil {
			return time.Time{}, err
		}
		if v, retry := l.policy.Peek(st, now); v != lockout.Allowed {
			if retry.IsZero() {
				retry = now.Add(l.policy.Duration)
			}
			return retry, nil
		}
		states[i] = st
	}
	for i, l := range limits {
		l.policy.Count(&states[i], now)
		if err := tx.PutLockout(ctx, l.key, "", states[i]); err != nil {
			return time.Time{}, err
		}
	}
	return time.Time{}, nil
}

// zone returns the time zone of mails to u: the organisation's, as users have none of their own.
func zone(_ *portier.User, st portier.Settings) *time.Location { return st.Location() }

// language returns the language of mails to u.
func language(u *portier.User, st portier.Settings) string {
	if u != nil && (u.Language == "en" || u.Language == "nl") {
		return u.Language
	}
	return st.DefaultLanguage
}
