package portier

import "time"

// MethodKind names a way a user proves who they are during self-service password reset.
type MethodKind string

// The methods of self-service password reset.
const (
	MethodEmail MethodKind = "email" // a code sent to an alternate email address
	MethodTOTP  MethodKind = "totp"  // a code from an authenticator app (RFC 6238)
)

// AuthMethod is one registered and verified security-info method of a user. A method being
// registered (its code not yet confirmed) is not an AuthMethod but a Token of kind TokenEnroll.
type AuthMethod struct {
	ID     string     `json:"id"`
	UserID string     `json:"userId"`
	Kind   MethodKind `json:"kind"`
	// Address is the alternate email address (MethodEmail).
	Address string `json:"address,omitempty"`
	// Secret is the authenticator's shared secret (MethodTOTP); it never leaves the process.
	Secret []byte `json:"-"`
	// LastStep is the TOTP time step of the last accepted code: a code of that step or an
	// earlier one is refused, so a code cannot be replayed inside its window.
	LastStep int64      `json:"-"`
	Created  time.Time  `json:"createdDateTime"`
	LastUsed *time.Time `json:"lastUsedDateTime"`
}

// Token kinds. A Token is a record with a lifetime that only its holder can name: the ID of
// a Token that stands for a secret is the hex SHA-256 of that secret, never the secret.
const (
	TokenEnroll      = "enroll"       // security info being registered: code or secret awaiting confirmation
	TokenWebAuthn    = "webauthn"     // a passkey ceremony's challenge, by the hash of the browser's ticket
	TokenRecovery    = "recovery"     // a self-service password reset in progress (one browser)
	TokenReport      = "report"       // a "This wasn't me" link of a lockout email
	TokenMail        = "mail"         // a mail waiting to be sent (the outbox)
	TokenSetup       = "setup"        // a one-time setup link of an empty directory
	TokenAuthRequest = "oidc-request" // an OpenID Connect authorization request
	TokenCode        = "oidc-code"    // an authorization code
	TokenAccess      = "oidc-access"  // an access token
	TokenRefresh     = "oidc-refresh" // a refresh token
)

// Token is a short- or long-lived record: see the Token kinds. Its fields beyond the ones
// every kind shares are the kind's own JSON in Data.
type Token struct {
	Kind string
	// ID is the lookup key, unique within the kind: a random id, or the hex SHA-256 of a secret.
	ID     string
	UserID string // empty while there is no user (an authorization request before sign-in)
	AppID  string // the OpenID Connect client, if any
	// Family groups the tokens issued from one grant: a replayed code or refresh token ends the family.
	Family  string
	Data    []byte
	Created time.Time
	Expires time.Time
}

// TokenFilter selects tokens for DeleteTokens and ListTokens; empty fields select everything,
// but at least one of Kinds, UserID, AppID and Family must be set.
type TokenFilter struct {
	Kinds  []string
	UserID string
	AppID  string
	Family string
	// Limit bounds ListTokens (0 means 100); ListTokens returns the oldest first.
	Limit int
}
