package portier

import (
	"encoding/json"
	"time"

	"github.com/portier-id/portier/lockout"
)

// SettingsKey is the store key under which Settings are kept as JSON.
const SettingsKey = "settings"

// Settings are the organisation-wide settings a global admin may change. They live in the
// store, so a change reaches every process sharing it.
type Settings struct {
	// OrgName is the organisation's name, shown on pages and refused inside passwords.
	OrgName string `json:"orgName"`
	// Lockout is the smart lockout policy for password sign-in.
	Lockout lockout.Policy `json:"lockout"`
	// SourceThreshold is how many failed sign-ins, across all accounts, one source address
	// (IPv4, or IPv6 /64) may make within SourceWindow before it is throttled.
	SourceThreshold int           `json:"sourceThreshold"`
	SourceWindow    time.Duration `json:"sourceWindow"`
	// PasswordMinLength is the minimum password length in characters (never below 8).
	PasswordMinLength int `json:"passwordMinLength"`
	// SessionIdle and SessionAbsolute bound a browser session's life.
	SessionIdle     time.Duration `json:"sessionIdle"`
	SessionAbsolute time.Duration `json:"sessionAbsolute"`
	// AdminSessionIdle ends the session of a user holding an admin role after this long
	// unused: an unattended admin browser is worth more to an attacker than anyone else's.
	AdminSessionIdle time.Duration `json:"adminSessionIdle"`
	// SignInRetention is how long the sign-in log keeps an entry.
	SignInRetention time.Duration `json:"signInRetention"`
	// DefaultLanguage is the language of pages and mails when the viewer states none ("en" or "nl").
	DefaultLanguage string `json:"defaultLanguage"`
}

// DefaultSettings returns the contract's defaults.
func DefaultSettings() Settings {
	return Settings{
		OrgName:           "Portier",
		Lockout:           lockout.DefaultPolicy(),
		SourceThreshold:   100,
		SourceWindow:      time.Hour,
		PasswordMinLength: 15,
		SessionIdle:       8 * time.Hour,
		SessionAbsolute:   14 * 24 * time.Hour,
		AdminSessionIdle:  30 * time.Minute,
		SignInRetention:   30 * 24 * time.Hour,
		DefaultLanguage:   "en",
	}
}

// DecodeSettings reads stored settings over the defaults, so a setting added later gets its default.
func DecodeSettings(b []byte) (Settings, error) {
	s := DefaultSettings()
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return DefaultSettings(), Errorf(EInternal, "The stored settings cannot be read: %v", err)
	}
	return s, s.Validate()
}

// Validate returns an EInvalid error naming the first setting out of range.
func (s Settings) Validate() error {
	switch {
	case s.Lockout.Threshold < 1:
		return Errorf(EInvalid, "The lockout threshold must be at least 1.")
	case s.Lockout.Duration < time.Second:
		return Errorf(EInvalid, "The lockout duration must be at least 1 second.")
	case s.Lockout.MaxDuration < s.Lockout.Duration:
		return Errorf(EInvalid, "The longest lockout must not be shorter than the first.")
	case s.Lockout.Decay < time.Minute:
		return Errorf(EInvalid, "The failure count must last at least 1 minute.")
	case s.PasswordMinLength < 8:
		return Errorf(EInvalid, "The minimum password length may not be below 8 characters.")
	case s.PasswordMinLength > 256:
		return Errorf(EInvalid, "The minimum password length may not be above 256 characters.")
	case s.SourceThreshold < 1 || s.SourceWindow < time.Minute:
		return Errorf(EInvalid, "The source address limit needs at least 1 failure per minute.")
	case s.SessionIdle < time.Minute || s.SessionAbsolute < s.SessionIdle:
		return Errorf(EInvalid, "Sessions must last at least 1 minute idle, and no less in all.")
	case s.AdminSessionIdle < time.Minute:
		return Errorf(EInvalid, "Admin sessions must last at least 1 minute idle.")
	case s.SignInRetention < 24*time.Hour:
		return Errorf(EInvalid, "The sign-in log must keep entries for at least 1 day.")
	case s.DefaultLanguage != "en" && s.DefaultLanguage != "nl":
		return Errorf(EInvalid, "The default language must be en or nl.")
	}
	return nil
}
