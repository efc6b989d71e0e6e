package portier

import (
	"slices"
	"strings"
	"time"
)

// MethodPasskey is a WebAuthn credential (a passkey), registered under Security info: a second
// factor, and a passwordless sign-in of its own.
const MethodPasskey MethodKind = "passkey"

// Who must use a second factor at sign-in (MFASettings.Required).
const (
	MFANone   = "none"
	MFAAdmins = "admins"
	MFAAll    = "all"
)

// MFASettings are the organisation's multi-factor sign-in policy (Entra's "Multifactor
// authentication" and "Authentication methods" blades, in one).
type MFASettings struct {
	// Required is MFANone, MFAAdmins or MFAAll: whose sign-ins need a second factor.
	Required string `json:"required"`
	// Methods are the second factors users may register and use: MethodTOTP and MethodPasskey.
	Methods []MethodKind `json:"methods"`
	// RememberDays, when above 0, spares the second factor at a browser that passed it within
	// that many days (bound to the device cookie; a password change or reset and a sign-out
	// everywhere end it). 0 asks at every sign-in.
	RememberDays int `json:"rememberDays"`
}

// MaxRememberDays bounds MFASettings.RememberDays: Entra's "remember multi-factor
// authentication on trusted devices" allows 1 to 365 days; a browser stays familiar at most
// 90 days here, so no longer.
const MaxRememberDays = 90

// RequiredFor reports whether a user holding roles must pass a second factor at sign-in.
func (m MFASettings) RequiredFor(roles []Role) bool {
	switch m.Required {
	case MFAAll:
		return true
	case MFAAdmins:
		return IsAdmin(roles)
	}
	return false
}

// Allows reports whether k may be used as a second factor.
func (m MFASettings) Allows(k MethodKind) bool { return slices.Contains(m.Methods, k) }

// Remember is how long a browser that passed the second factor is spared it; 0 for never.
func (m MFASettings) Remember() time.Duration {
	return time.Duration(m.RememberDays) * 24 * time.Hour
}

// validate returns an EInvalid error naming the first multi-factor setting out of range.
func (m MFASettings) validate() error {
	switch {
	case m.Required != MFANone && m.Required != MFAAdmins && m.Required != MFAAll:
		return Errorf(EInvalid, "Multi-factor sign-in must be required of none, admins or all.")
	case m.RememberDays < 0 || m.RememberDays > MaxRememberDays:
		return Errorf(EInvalid, "Multi-factor sign-in may be remembered for 0 to %d days.", MaxRememberDays)
	case len(m.Methods) == 0 && m.Required != MFANone:
		return Errorf(EInvalid, "Multi-factor sign-in needs at least one method allowed.")
	}
	for _, k := range m.Methods {
		if k != MethodTOTP && k != MethodPasskey {
			return Errorf(EInvalid, "The multi-factor method %q is not one of totp and passkey.", k)
		}
	}
	return nil
}

// Sign-in codes of multi-factor sign-in (Entra's numbers).
const (
	// CodeMFARequired is the interrupt of a right password when a second factor is required: a
	// sign-in log entry, not a failure.
	CodeMFARequired = 50074
	// CodeMFAFailed is a second factor that failed: a wrong authenticator code, a refused passkey.
	CodeMFAFailed = 500121
)

// Authentication method references (RFC 8176), kept in Session.AMR and put in ID tokens.
const (
	AMRPassword = "pwd" // a password
	AMROTP      = "otp" // a one-time code: an authenticator app, or a Temporary Access Pass
	AMRHardware = "hwk" // a key bound to hardware: a passkey on a security key or platform authenticator
	AMRSoftware = "swk" // a key in software: a synced passkey
	AMRMFA      = "mfa" // more than one factor
)

// ParseAMR reads the stored form of Session.AMR.
func ParseAMR(s string) []string { return strings.Fields(s) }

// FormatAMR is the stored form of Session.AMR.
func FormatAMR(amr []string) string { return strings.Join(amr, " ") }

// MultiFactor reports whether the session was opened with more than one factor.
func (s *Session) MultiFactor() bool { return slices.Contains(s.AMR, AMRMFA) }

// Temporary Access Pass bounds (Entra's): the lifetime an admin may choose, and its default.
const (
	TAPMinLifetime     = 10 * time.Minute
	TAPMaxLifetime     = 30 * 24 * time.Hour
	TAPDefaultLifetime = time.Hour
)

// Token kinds of multi-factor sign-in.
const (
	// TokenMFAPending is a sign-in between its right password and its second factor (or the
	// registration of one): no session yet. Its ID is the hex SHA-256 of the secret in the
	// browser's cookie.
	TokenMFAPending = "mfa-pending"
	// TokenTAP is a Temporary Access Pass; its ID is a keyed hash of the pass (see signin).
	TokenTAP = "tap"
)

// TAP is what the admin center and the CLI show of a Temporary Access Pass; the pass itself
// is shown once, when it is created, and kept only hashed.
type TAP struct {
	ID        string     `json:"id"`
	UserID    string     `json:"userId"`
	OneTime   bool       `json:"isUsableOnce"`
	Created   time.Time  `json:"createdDateTime"`
	Expires   time.Time  `json:"expiresDateTime"`
	CreatedBy string     `json:"createdBy"`
	LastUsed  *time.Time `json:"lastUsedDateTime,omitempty"`
	// Pass is set only in the answer to its creation.
	Pass string `json:"temporaryAccessPass,omitempty"`
}

// Actions of multi-factor sign-in in the audit log, named after Entra's activities.
const (
	// ActionCreateTAP creates a Temporary Access Pass ("Admin registered security info").
	ActionCreateTAP Action = "user.create-temporary-access-pass"
	// ActionRevokeTAP removes a Temporary Access Pass before its time.
	ActionRevokeTAP Action = "user.revoke-temporary-access-pass"
	// ActionUseTAP is a sign-in with a Temporary Access Pass (a self event).
	ActionUseTAP Action = "user.use-temporary-access-pass"
)
