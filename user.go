package portier

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portier-id/portier/lockout"
)

// User is a person in the directory. JSON field names follow Microsoft Graph's user resource.
type User struct {
	ID              string          `json:"id"`
	UPN             string          `json:"userPrincipalName"`
	DisplayName     string          `json:"displayName"`
	Mail            string          `json:"mail"`
	AccountEnabled  bool            `json:"accountEnabled"`
	PasswordProfile PasswordProfile `json:"passwordProfile"`
	Roles           []Role          `json:"roles"`
	// Lockout is the read-only view of LockoutState at the time the user was read; see SetLockoutView.
	Lockout    LockoutView `json:"lockout"`
	LastSignIn *time.Time  `json:"lastSignInDateTime"`
	Created    time.Time   `json:"createdDateTime"`
	// SessionsValidFrom ends every session and token issued before it (revoke-sessions, block, reset).
	SessionsValidFrom time.Time `json:"signInSessionsValidFromDateTime"`
	PasswordChanged   time.Time `json:"lastPasswordChangeDateTime"`
	// CredentialGeneration counts the password resets and changes and the sign-outs
	// everywhere (EndCredentials): a familiar-browser cookie of an older generation is a
	// stranger's again, so a stolen one stops getting its own lockout count.
	CredentialGeneration int64 `json:"-"`
	// Language is the user's preferred language ("en", "nl"), empty for the organisation's default.
	Language string `json:"preferredLanguage,omitempty"`

	// PasswordHash is the encoded argon2id hash; it never leaves the process.
	PasswordHash string `json:"-"`
	// LockoutState is the account-wide lockout counter (the bucket of unfamiliar browsers).
	LockoutState lockout.State `json:"-"`
}

// MarshalJSON writes a user as the Graph-style JSON of the contract; roles is [] rather than
// null for a user without any, so that a script can iterate it without a check.
func (u User) MarshalJSON() ([]byte, error) {
	type plain User // without the method, so that this is not called again
	p := plain(u)
	if p.Roles == nil {
		p.Roles = []Role{}
	}
	return json.Marshal(p)
}

// PasswordProfile holds the password flags of a user.
type PasswordProfile struct {
	ForceChangePasswordNextSignIn bool `json:"forceChangePasswordNextSignIn"`
}

// LockoutView is the read-only lockout object of the contract.
type LockoutView struct {
	Locked      bool       `json:"locked"`
	LockedUntil *time.Time `json:"lockedUntil"`
	// FailedAttempts: the wrong passwords that locked the account while it is locked, else
	// those counted toward the next lock (lockout.State.FailedAttempts).
	FailedAttempts int `json:"failedAttempts"`
}

// SetLockoutView fills u.Lockout from u.LockoutState as seen at now. FailedAttempts follows
// lockout.State.FailedAttempts, the one definition every view uses.
func (u *User) SetLockoutView(now time.Time) {
	st := u.LockoutState
	u.Lockout = LockoutView{FailedAttempts: st.FailedAttempts(now)}
	if st.Locked(now) {
		until := st.LockedUntil.UTC()
		u.Lockout.Locked = true
		u.Lockout.LockedUntil = &until
	}
}

// EndCredentials records a password reset or change or a sign-out everywhere: every device
// cookie issued before it stops counting as familiar. The caller writes u in the transaction of
// the change.
func (u *User) EndCredentials() { u.CredentialGeneration++ }

// HasRole reports whether u holds r.
func (u *User) HasRole(r Role) bool {
	for _, have := range u.Roles {
		if have == r {
			return true
		}
	}
	return false
}

// Limits on user fields.
const (
	MaxUPNLength         = 113 // Entra's limit: 64 before the @, 48 after
	MaxDisplayNameLength = 256
	// MaxUsernameBytes is the longest user name taken as typed at sign-in or in a reset,
	// before it is trimmed: room for a UPN with white space around it, not for a flood.
	MaxUsernameBytes = 256
)

// NormalizeUPN returns the canonical (trimmed, lower-case) form of a user principal name,
// or an EInvalid error saying what is wrong with it.
func NormalizeUPN(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EInvalid, "The user name is not valid UTF-8.")
	}
	s = FoldUPN(strings.TrimSpace(s))
	if s == "" {
		return "", Errorf(EInvalid, "The user name is empty: give it as name@domain.")
	}
	if len(s) > MaxUPNLength {
		return "", Errorf(EInvalid, "The user name is longer than %d characters.", MaxUPNLength)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", Errorf(EInvalid, "The user name %q is not of the form name@domain.", s)
	}
	if len(local) > 64 {
		return "", Errorf(EInvalid, "The part of the user name before the @ is longer than 64 characters.")
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", Errorf(EInvalid, "The user name %q may not start or end with a dot or hold two dots in a row before the @.", s)
	}
	for _, r := range local {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_'+!#$%&*/=?^`{|}~", r)) {
			return "", Errorf(EInvalid, "The user name %q holds %q, which a user name may not hold.", s, r)
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "", Errorf(EInvalid, "The domain of the user name %q needs a dot, such as example.org.", s)
	}
	for _, l := range labels {
		if l == "" || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return "", Errorf(EInvalid, "The domain of the user name %q is not a valid domain name.", s)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", Errorf(EInvalid, "The domain of the user name %q holds %q, which a domain may not hold.", s, r)
			}
		}
	}
	return s, nil
}

// ValidateDisplayName returns the trimmed display name or an EInvalid error.
func ValidateDisplayName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EInvalid, "The display name is not valid UTF-8.")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EInvalid, "The display name is empty.")
	}
	if utf8.RuneCountInString(s) > MaxDisplayNameLength {
		return "", Errorf(EInvalid, "The display name is longer than %d characters.", MaxDisplayNameLength)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", Errorf(EInvalid, "The display name holds a control character.")
		}
	}
	return s, nil
}

// NewID returns a new opaque identifier in the GUID form Graph uses (random, version 4).
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// UserStatus selects users by sign-in state in a UserFilter.
type UserStatus string

// The statuses a listing can filter on.
const (
	StatusAny     UserStatus = ""
	StatusLocked  UserStatus = "locked"  // locked out now (account-wide counter)
	StatusBlocked UserStatus = "blocked" // accountEnabled false
	StatusActive  UserStatus = "active"  // neither locked nor blocked
	// StatusMustChange is a user who must choose a new password at the next sign-in.
	StatusMustChange UserStatus = "must-change"
)

// UserFilter selects and pages users. Results are ordered by UPN.
type UserFilter struct {
	// Search matches, case-insensitively, a prefix of the UPN or of the display name.
	Search string
	Status UserStatus
	// AdminsOnly keeps users holding any administrative role.
	AdminsOnly bool
	// Now is the time against which "locked" is judged.
	Now time.Time
	// After is the UPN of the last user of the previous page (keyset paging); empty for the first page.
	After string
	// Limit is the page size; 0 means 100.
	Limit int
	// CountCap, when positive, lets CountUsers stop counting past it: it then returns at most
	// CountCap+1, which means "more than CountCap". A capped count of a search reads at most
	// that many index entries of each of its two halves (UPN, display name), however many
	// users match.
	CountCap int
}

// UserPage is one page of a user listing.
type UserPage struct {
	Users []*User
	// Next is the After value of the next page, empty on the last page.
	Next string
}

// UserQuery selects users by exact values and prefixes, all of which must hold: what the
// Graph-compatible API's $filter asks for. Results are ordered by UPN and paged by keyset.
type UserQuery struct {
	// ID, UPN and Mail select by exact value (UPN and Mail compared folded by FoldUPN); "" for any.
	ID, UPN, Mail string
	// UPNPrefix and NamePrefix select by a case-insensitive prefix of the UPN or of the
	// display name; "" for any.
	UPNPrefix, NamePrefix string
	// Enabled selects by accountEnabled; nil for any.
	Enabled *bool
	// After is the UPN of the last user of the previous page; empty for the first page.
	After string
	// Limit is the page size; 0 means 100.
	Limit int
}
