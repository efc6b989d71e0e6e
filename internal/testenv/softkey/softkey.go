// Package softkey is a software WebAuthn authenticator for tests of the passkey pages: an
// ECDSA P-256 key with "none" attestation, whose answers (attestationObject,
// authenticatorData, clientDataJSON, signature) are built byte by byte as a browser and an
// authenticator would build them, with CBOR from github.com/fxamacker/cbor/v2. Its fields can
// be set to answer wrongly (another origin or relying party, no user verification, a counter
// that goes backwards), for the tests of what the server must refuse.
package softkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator is one software authenticator holding at most one credential (a passkey).
type Authenticator struct {
	// Origin is what the client data says the page's origin was; RPID is the relying party
	// whose hash the authenticator data carries. New sets both from the server's base URL.
	Origin string
	RPID   string
	// UserVerified sets the UV flag (true from New); BackupEligible the BE and BS flags.
	UserVerified   bool
	BackupEligible bool
	// Counter is the signature counter: each answer adds one and carries the new value.
	Counter uint32

	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
}

// New returns an authenticator for the server at base (its origin and host).
func New(base string) *Authenticator {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Authenticator{Origin: u.Scheme + "://" + u.Host, RPID: u.Hostname(), UserVerified: true, key: key}
}

// CredentialID is the credential's id, base64url, once Create made it.
func (a *Authenticator) CredentialID() string { return b64(a.credID) }

// UserHandle is the user handle the relying party gave at Create.
func (a *Authenticator) UserHandle() []byte { return a.userHandle }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// creationOptions is what Create reads of navigator.credentials.create's options.
type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Attestation string `json:"attestation"`
	} `json:"publicKey"`
}

// requestOptions is what Get reads of navigator.credentials.get's options.
type requestOptions struct {
	PublicKey struct {
		Challenge        string `json:"challenge"`
		RPID             string `json:"rpId"`
		UserVerification string `json:"userVerification"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

// CreationOptions reads the options of a registration, for tests that look at them.
func CreationOptions(options []byte) (challenge, rpID, userVerification, residentKey string, err error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return "", "", "", "", err
	}
	p := o.PublicKey
	return p.Challenge, p.RP.ID, p.AuthenticatorSelection.UserVerification, p.AuthenticatorSelection.ResidentKey, nil
}

// flags is the authenticator data's flags byte.
func (a *Authenticator) flags(attested bool) byte {
	f := byte(0x01) // UP
	if a.UserVerified {
		f |= 0x04
	}
	if a.BackupEligible {
		f |= 0x08 | 0x10
	}
	if attested {
		f |= 0x40
	}
	return f
}

// authData builds authenticator data: the RP ID's hash, the flags, the counter, and at
// registration the attested credential data (AAGUID, credential id, COSE public key).
func (a *Authenticator) authData(attested []byte) []byte {
	h := sha256.Sum256([]byte(a.RPID))
	out := append([]byte{}, h[:]...)
	out = append(out, a.flags(attested != nil))
	out = binary.BigEndian.AppendUint32(out, a.Counter)
	return append(out, attested...)
}

// coseKey is the credential's public key as COSE (EC2, ES256, P-256).
func (a *Authenticator) coseKey() []byte {
	pub, err := a.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	b, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pub[1:33], -3: pub[33:65]})
	if err != nil {
		panic(err)
	}
	return b
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	if err != nil {
		panic(err)
	}
	return b
}

// Create answers a registration's options (the JSON the server sent) as navigator.credentials.create
// would, with a new credential, and returns the JSON of the PublicKeyCredential.
func (a *Authenticator) Create(options []byte) (string, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return "", fmt.Errorf("softkey: creation options: %w", err)
	}
	user, err := base64.RawURLEncoding.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return "", fmt.Errorf("softkey: user id: %w", err)
	}
	a.userHandle = user
	a.credID = make([]byte, 32)
	rand.Read(a.credID)
	attested := make([]byte, 16) // AAGUID: all zero, as "none" attestation allows
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.credID)))
	attested = append(attested, a.credID...)
	attested = append(attested, a.coseKey()...)
	a.Counter++
	obj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(attested)})
	if err != nil {
		return "", err
	}
	out, err := json.Marshal(map[string]any{
		"id": b64(a.credID), "rawId": b64(a.credID), "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64(obj),
			"transports":        []string{"internal", "hybrid"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return string(out), err
}

// Get answers a sign-in's options as navigator.credentials.get would, with the credential
// Create made, and returns the JSON of the PublicKeyCredential.
func (a *Authenticator) Get(options []byte) (string, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return "", fmt.Errorf("softkey: request options: %w", err)
	}
	if a.credID == nil {
		return "", fmt.Errorf("softkey: no credential")
	}
	a.Counter++
	return a.Assert(o.PublicKey.Challenge), nil
}

// Assert answers challenge (base64url) with the credential, as Get does but without options.
func (a *Authenticator) Assert(challenge string) string {
	auth := a.authData(nil)
	cd := a.clientData("webauthn.get", challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		panic(err)
	}
	out, err := json.Marshal(map[string]any{
		"id": b64(a.credID), "rawId": b64(a.credID), "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON": b64(cd), "authenticatorData": b64(auth), "signature": b64(sig), "userHandle": b64(a.userHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
	if err != nil {
		panic(err)
	}
	return string(out)
}

// Challenge reads the challenge of a sign-in's options.
func Challenge(options []byte) string {
	var o requestOptions
	json.Unmarshal(options, &o)
	return o.PublicKey.Challenge
}
