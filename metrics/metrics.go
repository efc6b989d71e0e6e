// Package metrics holds Portier's Prometheus metrics, registered on a registry of their own
// so that tests can read them without global state.
package metrics

import (
	"strconv"
	"time"

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
	// BusyAnswers counts attempts answered "busy" (99503, HTTP 503): turned away unchecked.
	BusyAnswers prometheus.Counter
	// HashQueueDepth is the number of password checks waiting for a hash slot, by class.
	HashQueueDepth *prometheus.GaugeVec
	// HashQueueWait is how long password checks waited for a hash slot, by class.
	HashQueueWait *prometheus.HistogramVec
	// HashShedTotal counts password checks turned away by the scheduler, by class and reason.
	HashShedTotal *prometheus.CounterVec
	// HashPausedSeconds is how long strangers' hashes paused for likely owners' (Slot.Yield).
	HashPausedSeconds prometheus.Counter
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
		BusyAnswers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portier_signin_busy_total",
			Help: "Attempts turned away unchecked because the server is saturated (code 99503, HTTP 503); never a failure.",
		}),
		HashQueueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portier_hash_queue_depth",
			Help: "Password checks waiting for a hash slot, by class (owner, familiar_source, other).",
		}, []string{"class"}),
		HashQueueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portier_hash_queue_wait_seconds",
			Help:    "How long password checks waited for a hash slot, by class.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"class"}),
		HashShedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portier_hash_shed_total",
			Help: "Password checks turned away by the hash scheduler, by class and reason (full, deadline).",
		}, []string{"class", "reason"}),
		HashPausedSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portier_hash_paused_seconds_total",
			Help: "Time strangers' password hashes (class other) spent paused between their segments so that a likely owner's hash had a core.",
		}),
	}
	m.Registry.MustRegister(m.SignInAttempts, m.PasswordVerifications, m.Lockouts, m.LockedRejections,
		m.BusyAnswers, m.HashQueueDepth, m.HashQueueWait, m.HashShedTotal, m.HashPausedSeconds,
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

// Busy counts one attempt turned away as busy.
func (m *Metrics) Busy() { m.BusyAnswers.Inc() }

// HashQueue sets the number of checks of class waiting for a hash slot.
func (m *Metrics) HashQueue(class string, depth int) {
	m.HashQueueDepth.WithLabelValues(class).Set(float64(depth))
}

// HashWaited observes one check of class that waited wait for a hash slot.
func (m *Metrics) HashWaited(class string, wait time.Duration) {
	m.HashQueueWait.WithLabelValues(class).Observe(wait.Seconds())
}

// HashPaused counts a pause of d of a stranger's hash.
func (m *Metrics) HashPaused(d time.Duration) {
	m.HashPausedSeconds.Add(d.Seconds())
}

// HashShed counts one check of class turned away for reason.
func (m *Metrics) HashShed(class, reason string) {
	m.HashShedTotal.WithLabelValues(class, reason).Inc()
}
