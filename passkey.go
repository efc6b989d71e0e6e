package portier

import "time"

// Passkey is a WebAuthn credential (a passkey or a security key) that a user registered under
// Security info: a public key whose private half never leaves the authenticator. It serves as
// the second factor after a password and as a passwordless sign-in of its own.
type Passkey struct {
	// ID is the credential id, base64url without padding, as the browser names it.
	ID     string `json:"id"`
	UserID string `json:"userId"`
	// Name is what the user called it ("YubiKey", "Phone"), at most MaxPasskeyName bytes.
	Name string `json:"displayName"`
	// PublicKey is the credential's COSE public key.
	PublicKey []byte `json:"-"`
	// SignCount is the authenticator's signature counter at the last accepted use: an
	// assertion whose counter does not go past it (unless both are 0) is refused as a clone.
	SignCount uint32 `json:"-"`
	// Transports are the ways the browser may reach the authenticator ("usb", "internal",
	// "hybrid", ...), as it reported them at registration.
	Transports []string `json:"transports,omitempty"`
	// AAGUID names the authenticator's model (16 bytes; all zero when it does not say).
	AAGUID []byte `json:"-"`
	// AttestationFormat is the attestation statement's format at registration ("none", "packed", ...).
	AttestationFormat string `json:"attestationFormat,omitempty"`
	// BackupEligible (the BE flag) says the key may be synced off the authenticator; it never
	// changes. BackupState (BS) says it is backed up now.
	BackupEligible bool       `json:"backupEligible"`
	BackupState    bool       `json:"backupState"`
	Created        time.Time  `json:"createdDateTime"`
	LastUsed       *time.Time `json:"lastUsedDateTime"`
}

// MaxPasskeyName bounds a passkey's name, in bytes.
const MaxPasskeyName = 64

// MaxPasskeys bounds how many passkeys one user may register.
const MaxPasskeys = 20

// AMR is the RFC 8176 authentication method reference of a sign-in with p: "swk" (a key that
// software may copy: a synced, backup-eligible passkey) or "hwk" (a device-bound key that
// never leaves its authenticator). Portier takes no attestation, so the BE flag, which the
// authenticator signs with every assertion and which cannot change, is what it goes by.
func (p *Passkey) AMR() string {
	if p.BackupEligible {
		return AMRSoftware
	}
	return AMRHardware
}
