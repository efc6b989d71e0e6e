package portier

import "time"

// App is an application that signs its users in through Portier: an OpenID Connect client.
type App struct {
	ID   string `json:"clientId"`
	Name string `json:"displayName"`
	// SecretHash is the SHA-256 of the client secret (a 256-bit random value, so a fast hash
	// is enough); nil for a public client.
	SecretHash   []byte   `json:"-"`
	Public       bool     `json:"publicClient"`
	RedirectURIs []string `json:"redirectUris"`
	// PostLogoutURIs are where RP-initiated logout may send the browser back to.
	PostLogoutURIs []string `json:"postLogoutRedirectUris"`
	// AssignedOnly lets only the users assigned to the app sign in to it.
	AssignedOnly bool `json:"appRoleAssignmentRequired"`
	// ClientCredentials lets the application act on its own behalf (a script or a service):
	// it gets access tokens with the OAuth 2.0 client credentials grant, carrying Permissions.
	ClientCredentials bool `json:"clientCredentials"`
	// Permissions are the application permissions granted to it (Graph's names, such as
	// User.Read.All), which its client-credentials access tokens carry in their roles claim.
	Permissions []string  `json:"permissions"`
	Created     time.Time `json:"createdDateTime"`
}

// SigningKey is a key that signs ID tokens, kept in the store so that every process signs
// with, and publishes, the same keys.
type SigningKey struct {
	ID        string    // the JWK key id
	Algorithm string    // "RS256"
	Private   []byte    // PKCS #8 DER; it never leaves the process
	Created   time.Time // signing starts once it is published (NotBefore)
	NotBefore time.Time // the key signs from here on; it is published from Created
	Expires   time.Time // the key is no longer published after this
}
