package portier

import "time"

// Sign-in result codes, Microsoft Entra's numbers where one exists. 0 is success.
const (
	CodeSuccess              = 0
	CodeInvalidCredentials   = 50126 // invalid username or password
	CodeLocked               = 50053 // locked after too many failed attempts, or the source is throttled
	CodeBlocked              = 50057 // sign-in blocked by an administrator
	CodePasswordChangeNeeded = 50055 // the password must be changed first
	CodeBadRequest           = 90100 // missing or malformed field, bad CSRF token
	// Portier's own codes, outside Entra's numbers: neither is a failed attempt, and neither
	// counts towards a lockout.
	CodeBusy        = 99503 // turned away unchecked: the server is saturated; try again shortly (HTTP 503, Retry-After)
	CodeServerError = 99500 // ended without an answer: the store failed, or the request ended first
)

// SignIn is one entry of the sign-in log: every attempt, whatever its outcome.
type SignIn struct {
	ID             int64     `json:"id"`
	Time           time.Time `json:"createdDateTime"`
	Username       string    `json:"userPrincipalName"` // as typed, normalised
	UserID         string    `json:"userId,omitempty"`  // when the name is a known user
	Source         string    `json:"ipAddress"`
	UserAgent      string    `json:"userAgent"`
	Code           int       `json:"errorCode"`
	FamiliarDevice bool      `json:"familiarDevice"`
	HashComputed   bool      `json:"passwordHashComputed"`
	Process        string    `json:"process"`
	Detail         string    `json:"failureReason,omitempty"`
	// Reported is set when the account's owner said of the lockout these attempts caused:
	// "This wasn't me".
	Reported bool `json:"reportedByUser,omitempty"`
}

// SignInFilter selects sign-ins, newest first.
type SignInFilter struct {
	UserID   string
	Username string
	Code     *int
	Source   string
	Since    time.Time
	Until    time.Time
	// Before is the ID of the last entry of the previous page; 0 for the first page.
	Before int64
	// Limit is the page size; 0 means 100.
	Limit int
}

// Session is a server-side browser session. The cookie holds a random id; the store keeps its hash.
type Session struct {
	IDHash    []byte    `json:"-"`
	UserID    string    `json:"userId"`
	Created   time.Time `json:"createdDateTime"`
	LastSeen  time.Time `json:"lastSeenDateTime"`
	Expires   time.Time `json:"expiresDateTime"`
	Source    string    `json:"ipAddress"`
	UserAgent string    `json:"userAgent"`
	// AMR are the RFC 8176 methods that opened the session ("pwd", "otp", "mfa", ...); empty
	// for a session opened before multi-factor sign-in, which counts as "pwd".
	AMR []string `json:"amr,omitempty"`
}
