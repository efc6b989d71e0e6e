// Package metrics holds Portier's Prometheus metrics, registered on a registry of their own
// so that tests can read them without global state.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the counters the contract names, and the registry that serves them.
type Metrics struct {
	Registry *prometheus.Registry

	// SignInAttempts counts sign-in attempts by result code ("0" for success).
	SignInAttempts *prometheus.CounterVec
	// PasswordVerifications counts argon2id computations made to check a password,
	// for known and unknown users alike.
	PasswordVerifications prometheus.Counter
	// Lockouts counts counters that locked.
	Lockouts prometheus.Counter
	// LockedRejections counts attempts answered as locked or throttled without a hash.
	LockedRejections prometheus.Counter
}

// New returns the metrics registered on a fresh registry, with the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		SignInAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portier_signin_attempts_total",
			Help: "Sign-in attempts by result code (0 is success).",
		}, []string{"code"}),
		PasswordVerifications: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portier_password_verifications_total",
			Help: "Password hashes computed to check a sign-in attempt.",
		}),
		Lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portier_lockouts_total",
			Help: "Lockout counters that reached the threshold and locked.",
		}),
		LockedRejections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portier_locked_rejections_total",
			Help: "Attempts refused as locked or throttled, answered without computing a hash.",
		}),
	}
	m.Registry.MustRegister(m.SignInAttempts, m.PasswordVerifications, m.Lockouts, m.LockedRejections,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Attempt counts one sign-in attempt with its result code.
func (m *Metrics) Attempt(code int) { m.SignInAttempts.WithLabelValues(strconv.Itoa(code)).Inc() }

// PasswordVerified counts one password hash computed.
func (m *Metrics) PasswordVerified() { m.PasswordVerifications.Inc() }

// Locked counts one lockout.
func (m *Metrics) Locked() { m.Lockouts.Inc() }

// LockedRejection counts one attempt refused without a hash.
func (m *Metrics) LockedRejection() { m.LockedRejections.Inc() }
