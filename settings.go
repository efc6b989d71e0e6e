package portier

import (
	"encoding/json"
	"time"

	"github.com/portier-id/portier/lockout"
)

// Bounds of Settings.PasswordMinLength, in characters (code points after NFKC): the one rule
// that both Settings.Validate and the password package's Policy apply.
const (
	// DefaultPasswordMinLength is NIST SP 800-63B-4's minimum for a password that is the only factor.
	DefaultPasswordMinLength = 15
	// LowestPasswordMinLength is NIST's floor when the password is one factor of several.
	LowestPasswordMinLength = 8
	// HighestPasswordMinLength is the highest minimum that may be set: a password of this many
	// characters fits in password.MaxBytes, so no policy asks for what it would refuse.
	HighestPasswordMinLength = 256
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
	// PasswordMinLength is the minimum password length in characters, between
	// LowestPasswordMinLength and HighestPasswordMinLength.
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

	// Reset is self-service password reset and unlock.
	Reset ResetSettings `json:"selfServiceReset"`
	// LockoutEmail sends an account's owner one email per lockout episode.
	LockoutEmail bool `json:"lockoutEmail"`

	// AccessTokenLifetime and RefreshTokenLifetime bound the OpenID Connect tokens; a refresh
	// token is replaced at every use, and the new one lives RefreshTokenLifetime again.
	AccessTokenLifetime  time.Duration `json:"accessTokenLifetime"`
	RefreshTokenLifetime time.Duration `json:"refreshTokenLifetime"`

	// MFA is the multi-factor sign-in policy.
	MFA MFASettings `json:"mfa"`
}

// SessionIdleFor is how long a session of a user holding roles may go unused: SessionIdle,
// or the shorter AdminSessionIdle for a user holding an admin role.
func (s Settings) SessionIdleFor(roles []Role) time.Duration {
	if IsAdmin(roles) {
		return min(s.SessionIdle, s.AdminSessionIdle)
	}
	return s.SessionIdle
}

// Who may use self-service password reset (ResetSettings.Scope).
const (
	ResetNone      = "none"
	ResetAll       = "all"
	ResetNonAdmins = "non-admins"
)

// ResetSettings configure self-service password reset, as Entra's "Password reset" blade.
type ResetSettings struct {
	// Scope is ResetNone, ResetAll or ResetNonAdmins.
	Scope string `json:"scope"`
	// MethodsRequired is how many methods a user must pass: 1 or 2. Admins always need 2.
	MethodsRequired int `json:"methodsRequired"`
	// Methods are the methods users may register and use.
	Methods []MethodKind `json:"methods"`
	// AllowUnlock lets a locked-out user unlock the account without choosing a new password.
	AllowUnlock bool `json:"allowUnlock"`
	// RequireRegistration asks a user without enough methods to register right after sign-in.
	RequireRegistration bool `json:"requireRegistration"`
	// NotifyUser mails users when their password is reset (by themselves or an admin).
	NotifyUser bool `json:"notifyUser"`
	// NotifyAdmins mails every global admin when an admin resets their own password.
	NotifyAdmins bool `json:"notifyAdmins"`
}

// Allows reports whether users may register and use method k.
func (r ResetSettings) Allows(k MethodKind) bool {
	for _, m := range r.Methods {
		if m == k {
			return true
		}
	}
	return false
}

// Required returns how many methods a user holding roles must pass, and whether the user may
// use self-service reset at all.
func (r ResetSettings) Required(roles []Role) (int, bool) {
	admin := IsAdmin(roles)
	switch {
	case r.Scope == ResetNone, r.Scope == ResetNonAdmins && admin:
		return 0, false
	case admin:
		return 2, true
	}
	return r.MethodsRequired, true
}

// DefaultSettings returns the contract's defaults.
func DefaultSettings() Settings {
	return Settings{
		OrgName:           "Portier",
		Lockout:           lockout.DefaultPolicy(),
		SourceThreshold:   100,
		SourceWindow:      time.Hour,
		PasswordMinLength: DefaultPasswordMinLength,
		SessionIdle:       8 * time.Hour,
		SessionAbsolute:   14 * 24 * time.Hour,
		AdminSessionIdle:  30 * time.Minute,
		SignInRetention:   30 * 24 * time.Hour,
		DefaultLanguage:   "en",
		Reset: ResetSettings{
			Scope:           ResetAll,
			MethodsRequired: 1,
			Methods:         []MethodKind{MethodEmail, MethodTOTP},
			AllowUnlock:     true,
			NotifyUser:      true,
			NotifyAdmins:    true,
		},
		LockoutEmail:         true,
		AccessTokenLifetime:  5 * time.Minute,
		RefreshTokenLifetime: 14 * 24 * time.Hour,
		MFA:                  MFASettings{Required: MFAAdmins, Methods: []MethodKind{MethodTOTP, MethodPasskey}},
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
	case s.PasswordMinLength < LowestPasswordMinLength:
		return Errorf(EInvalid, "The minimum password length may not be below %d characters.", LowestPasswordMinLength)
	case s.PasswordMinLength > HighestPasswordMinLength:
		return Errorf(EInvalid, "The minimum password length may not be above %d characters.", HighestPasswordMinLength)
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
	case s.Reset.Scope != ResetNone && s.Reset.Scope != ResetAll && s.Reset.Scope != ResetNonAdmins:
		return Errorf(EInvalid, "Self-service password reset must be for none, all or non-admins.")
	case s.Reset.MethodsRequired != 1 && s.Reset.MethodsRequired != 2:
		return Errorf(EInvalid, "Self-service password reset must require 1 or 2 methods.")
	case s.AccessTokenLifetime < time.Minute || s.AccessTokenLifetime > 24*time.Hour:
		return Errorf(EInvalid, "Access tokens must live between 1 minute and 24 hours.")
	case s.RefreshTokenLifetime < s.AccessTokenLifetime:
		return Errorf(EInvalid, "Refresh tokens may not live shorter than access tokens.")
	}
	if err := s.MFA.validate(); err != nil {
		return err
	}
	for _, m := range s.Reset.Methods {
		if m != MethodEmail && m != MethodTOTP {
			return Errorf(EInvalid, "The self-service method %q is not one of email and totp.", m)
		}
	}
	if len(s.Reset.Methods) < 2 && s.Reset.Scope != ResetNone {
		// Admins always need two methods, so fewer would lock every admin out of self-service.
		if s.Reset.Scope == ResetAll || s.Reset.MethodsRequired == 2 {
			return Errorf(EInvalid, "Self-service password reset needs both methods allowed when admins or users must pass two.")
		}
		if len(s.Reset.Methods) == 0 {
			return Errorf(EInvalid, "Self-service password reset needs at least one method allowed.")
		}
	}
	return nil
}
