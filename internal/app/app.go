// Package app builds Portier: the one place where a store, the domain services (directory,
// sign-in engine, self-service, mail queue, OpenID provider) and the HTTP surface are put
// together. `portier serve` and every test that runs Portier as a server use New, so the
// program under test is the program that ships.
package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/graph"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/mail"
	"github.com/portier-id/portier/metrics"
	"github.com/portier-id/portier/oidc"
	"github.com/portier-id/portier/passkey"
	"github.com/portier-id/portier/password"
	"github.com/portier-id/portier/selfservice"
	"github.com/portier-id/portier/signin"
	"github.com/portier-id/portier/web"
)

// Config is what New needs; the zero value of an optional field is the production default.
type Config struct {
	Store portier.Store
	// Hasher hashes and verifies passwords; tests lower its cost, production keeps the default.
	Hasher password.Hasher
	Now    portier.Clock
	Log    *slog.Logger
	// BaseURL is the public URL: links in mail, the OpenID issuer, Secure cookies when https.
	BaseURL *url.URL
	// TrustedProxies are the addresses whose X-Forwarded-For header is believed.
	TrustedProxies []netip.Prefix
	// Mail says how mail leaves (an SMTP server, or .eml files in an outbox).
	Mail mail.Config
	// Process names this process in the sign-in log.
	Process string
	// LockMemory is how long the engine answers "locked" from memory (zero: its default).
	LockMemory time.Duration
	// UnlockSeenWithin bounds how late another process's unlock may be seen by an answer from
	// memory (zero: the engine's 5 ms; negative: never late, one store read per such answer).
	UnlockSeenWithin time.Duration
	// SaturatedWait bounds how long an attempt waits for a hash slot or for the checks in
	// flight on its counter before it is answered "busy" (zero: the engine's default).
	SaturatedWait time.Duration
	// Admission sizes the engine's hash slots and class queues (zero: the engine's defaults).
	Admission signin.AdmissionConfig
	// Timeouts are the request deadlines (unset ones at their defaults); serve gives the same
	// to web.HTTPServer for the connection's.
	Timeouts web.Timeouts
	// BusyHold is how long a sign-in turned away busy is held before it is answered (zero:
	// web.DefaultBusyHold; negative: not held).
	BusyHold time.Duration
	// OIDCKeys is the rotation of signing keys (zero: oidc.DefaultKeyPolicy).
	OIDCKeys oidc.KeyPolicy
	// GraphRate is each application's request rate on the Graph-compatible API (zero:
	// graph.DefaultRate).
	GraphRate graph.Rate
	// MaxUnknownCounters caps the lockout counters of unknown user names that Prune keeps
	// (zero: MaxUnknownCounters; negative: no cap).
	MaxUnknownCounters int
}

// App is a built Portier: its services, for the commands and tests that drive them directly,
// and Handler, the whole HTTP surface.
type App struct {
	Store       portier.Store
	Directory   *directory.Service
	Engine      *signin.Engine
	SelfService *selfservice.Service
	Mailer      *selfservice.Mailer
	Passkeys    *passkey.Service
	OIDC        *oidc.Provider
	Metrics     *metrics.Metrics
	Recorder    *signin.Recorder
	Secret      []byte
	Handler     http.Handler

	now        portier.Clock
	log        *slog.Logger
	maxUnknown int
}

// New builds the application over an open store. It starts only the sign-in log's writer;
// Start begins the background work, and Close must be called when done.
func New(ctx context.Context, c Config) (*App, error) {
	if c.Store == nil || c.Now == nil || c.Log == nil || c.BaseURL == nil {
		return nil, fmt.Errorf("app: Store, Now, Log and BaseURL are required")
	}
	a := &App{Store: c.Store, now: c.Now, log: c.Log, Metrics: metrics.New(), maxUnknown: max(0, cmp.Or(c.MaxUnknownCounters, MaxUnknownCounters))}
	a.Directory = NewDirectory(c)
	var err error
	if a.Secret, err = signin.LoadSecret(ctx, c.Store); err != nil {
		return nil, err
	}
	sender, err := mail.New(c.Mail)
	if err != nil {
		return nil, err
	}
	a.Mailer = selfservice.NewMailer(c.Store, sender, a.Secret, c.Now, c.Log)
	a.SelfService = selfservice.New(selfservice.Config{
		Store: c.Store, Directory: a.Directory, Secret: a.Secret, Now: c.Now, Log: c.Log, BaseURL: c.BaseURL.String(), Mailer: a.Mailer,
	})
	a.Recorder = signin.NewRecorder(c.Store, c.Log)
	a.Engine = signin.New(signin.Config{
		Store: c.Store, Directory: a.Directory, Secret: a.Secret, Now: c.Now, Metrics: a.Metrics, Log: c.Log,
		Process: cmp.Or(c.Process, "portier"), Recorder: a.Recorder, OnLock: a.SelfService.LockoutNotice, LockMemory: c.LockMemory, UnlockSeenWithin: c.UnlockSeenWithin,
		SaturatedWait: c.SaturatedWait, Admission: c.Admission,
	})
	a.OIDC, err = oidc.New(ctx, oidc.Config{Issuer: c.BaseURL.String(), Store: c.Store, Directory: a.Directory, Now: c.Now, Log: c.Log, Keys: c.OIDCKeys})
	if err != nil {
		a.Recorder.Close(ctx)
		return nil, fmt.Errorf("OpenID Connect provider: %w", err)
	}
	api := graph.New(graph.Config{
		Directory: a.Directory, Tokens: a.OIDC, BaseURL: c.BaseURL, Secret: a.Secret, Now: c.Now, Log: c.Log, Rate: c.GraphRate,
	})
	a.Passkeys = passkey.New(passkey.Config{Store: c.Store, BaseURL: c.BaseURL, Now: c.Now, Log: c.Log})
	a.Handler = web.NewServer(web.Deps{
		Log: c.Log, Directory: a.Directory, Engine: a.Engine, SelfService: a.SelfService, Passkeys: a.Passkeys, Metrics: a.Metrics,
		Now: c.Now, BaseURL: c.BaseURL, Secret: a.Secret, TrustedProxies: c.TrustedProxies, OIDC: a.OIDC, Timeouts: c.Timeouts,
		Graph: api, BusyHold: c.BusyHold,
	})
	return a, nil
}

// NewDirectory builds the directory service alone over c's store, hasher, clock and log: for
// the commands that act on the directory without serving.
func NewDirectory(c Config) *directory.Service {
	return directory.New(c.Store, c.Hasher, c.Now, c.Log)
}

// Start begins the background work of a serving process until ctx ends: the engine hears of
// unlocks on every process, this one included (the store's publish and subscribe are the one
// path of that signal), and the mail queue is delivered.
func (a *App) Start(ctx context.Context) error {
	if err := a.Engine.Listen(ctx); err != nil {
		return err
	}
	go a.Mailer.Run(ctx)
	return nil
}

// Close writes the sign-in log entries still queued.
func (a *App) Close(ctx context.Context) error { return a.Recorder.Close(ctx) }

// MaintenanceEvery is how often Maintain prunes expired sessions, old sign-in log entries
// and the lockout counters that can no longer change an answer (those of unknown names and
// source addresses above all, which a spray creates at up to the hashing rate): often, so
// that a counter outlives its use by at most a minute.
const MaintenanceEvery = time.Minute

// Maintain prunes until ctx ends. Every process does it; the deletes are idempotent.
func (a *App) Maintain(ctx context.Context) {
	t := time.NewTicker(MaintenanceEvery)
	defer t.Stop()
	for {
		if err := a.Prune(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("pruning failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune deletes, once, what can no longer matter: expired sessions and tokens, sign-ins past
// the retention, and lockout counters that can no longer lock or throttle (LockoutPrune),
// with unknown names' counters held to the cap.
func (a *App) Prune(ctx context.Context) error {
	st, err := a.Directory.Settings(ctx)
	if err != nil {
		return err
	}
	now := a.now()
	return a.Store.Tx(ctx, func(tx portier.Tx) error {
		if _, err := tx.PruneSessions(ctx, now); err != nil {
			return err
		}
		if _, err := tx.PruneSignIns(ctx, now.Add(-st.SignInRetention)); err != nil {
			return err
		}
		if _, err := tx.PruneTokens(ctx, now); err != nil {
			return err
		}
		pruned, err := tx.PruneLockouts(ctx, LockoutPrune(st, now, a.maxUnknown))
		if pruned.Evicted > 0 {
			a.log.Warn("too many unknown user names' lockout counters: evicted the least advanced that hold no lock",
				"evicted", pruned.Evicted, "cap", a.maxUnknown)
		}
		return err
	})
}

// MaxUnknownCounters is the default cap on unknown user names' lockout counters: about 24
// minutes of a spray at new names that saturates hashing at 70 a second, and some 15 MB.
const MaxUnknownCounters = 100_000

// LockoutPrune says which lockout counters can no longer change an answer at now under the
// settings st, by what the lockout policy says of them: a counter not locked goes once it
// holds nothing, or once it has seen no failure for its policy's decay (Lockout.Decay for
// accounts, browsers and unknown names; SourceWindow, the source policy's decay, for source
// addresses); unknown names' counters past maxUnknown go too, those that hold no lock and are
// least advanced towards one first.
func LockoutPrune(st portier.Settings, now time.Time, maxUnknown int) portier.LockoutPrune {
	return portier.LockoutPrune{
		Now: now, QuietSince: now.Add(-st.Lockout.Decay),
		SourcePrefix: lockout.SourcePrefix, SourceQuietSince: now.Add(-st.SourceWindow),
		UnknownPrefix: lockout.UnknownPrefix, MaxUnknown: maxUnknown,
	}
}
