package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portier-id/portier"
)

// KeyPolicy says how signing keys rotate. Every process sharing a store follows the keys in
// the store, so they sign with and publish the same keys.
type KeyPolicy struct {
	// SignFor is how long one key signs before its successor takes over.
	SignFor time.Duration
	// PublishAhead is how long a key is published before it starts signing, so that relying
	// parties caching the JWKS know it before they see a token it signed.
	PublishAhead time.Duration
	// KeepAfter is how long a key stays published after it stopped signing, so that the
	// tokens it signed (ID tokens, and their use as id_token_hint) still verify.
	KeepAfter time.Duration
	// Bits is the RSA modulus size.
	Bits int
}

// DefaultKeyPolicy rotates every 30 days, publishing a key 2 days before it signs and keeping
// it 2 days after, well beyond the 1-hour ID token lifetime and a day of JWKS caching.
func DefaultKeyPolicy() KeyPolicy {
	return KeyPolicy{SignFor: 30 * 24 * time.Hour, PublishAhead: 48 * time.Hour, KeepAfter: 48 * time.Hour, Bits: 2048}
}

// keyCacheTTL is how long a process trusts its copy of the key list. A successor is published
// PublishAhead before it signs, which is far longer, so every process knows it in time; which
// key signs is decided from the list at each use, so all processes switch at the same moment.
const keyCacheTTL = time.Minute

// keyRing reads, creates and caches the signing keys of the store.
type keyRing struct {
	store  keyStore
	now    portier.Clock
	policy KeyPolicy

	mu       sync.Mutex
	keys     []*storedKey // newest NotBefore first
	loadedAt time.Time
	parsed   map[string]*rsa.PrivateKey
}

type storedKey struct {
	*portier.SigningKey
	priv *rsa.PrivateKey
}

// signingKey implements op.SigningKey.
type signingKey struct{ k *storedKey }

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (s signingKey) Key() any                                    { return s.k.priv }
func (s signingKey) ID() string                                  { return s.k.ID }

// publicKey implements op.Key.
type publicKey struct{ k *storedKey }

func (p publicKey) ID() string                         { return p.k.ID }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.priv.PublicKey }

// signEnd is when a key stops signing.
func (r *keyRing) signEnd(k *portier.SigningKey) time.Time {
	return k.Expires.Add(-r.policy.KeepAfter)
}

// current returns the keys, reloading them (and creating any that is due) when the cache is old.
func (r *keyRing) current(ctx context.Context) ([]*storedKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.keys != nil && now.Sub(r.loadedAt) < keyCacheTTL && !now.Before(r.loadedAt) && r.covered(now) {
		return r.keys, nil
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	if !r.covered(now) {
		if err := r.create(ctx, now); err != nil {
			return nil, err
		}
		if err := r.load(ctx); err != nil {
			return nil, err
		}
	}
	r.loadedAt = now
	return r.keys, nil
}

// covered reports whether the cached keys hold one that signs at now and, when its signing
// ends within PublishAhead, the successor that takes over.
func (r *keyRing) covered(now time.Time) bool {
	signer := r.signerAt(now)
	if signer == nil {
		return false
	}
	end := r.signEnd(signer.SigningKey)
	if end.Sub(now) > r.policy.PublishAhead {
		return true
	}
	for _, k := range r.keys {
		if !k.NotBefore.After(end) && k.NotBefore.After(signer.NotBefore) && r.signEnd(k.SigningKey).After(end) {
			return true
		}
	}
	return false
}

// signerAt is the key that signs at t: the newest whose NotBefore has come and whose signing
// has not ended.
func (r *keyRing) signerAt(t time.Time) *storedKey {
	for _, k := range r.keys {
		if !k.NotBefore.After(t) && t.Before(r.signEnd(k.SigningKey)) {
			return k
		}
	}
	return nil
}

func (r *keyRing) load(ctx context.Context) error {
	list, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	if r.parsed == nil {
		r.parsed = map[string]*rsa.PrivateKey{}
	}
	keys := make([]*storedKey, 0, len(list))
	for _, k := range list {
		if k.Algorithm != "RS256" {
			continue
		}
		priv, ok := r.parsed[k.ID]
		if !ok {
			parsed, err := x509.ParsePKCS8PrivateKey(k.Private)
			if err != nil {
				return fmt.Errorf("signing key %s: %w", k.ID, err)
			}
			if priv, ok = parsed.(*rsa.PrivateKey); !ok {
				return fmt.Errorf("signing key %s is not an RSA key", k.ID)
			}
			r.parsed[k.ID] = priv
		}
		keys = append(keys, &storedKey{SigningKey: k, priv: priv})
	}
	r.keys = keys
	return nil
}

// create adds the key that is missing at now: the first key (signing at once), or the
// successor of the signing key (published now, signing when the current one stops). The key
// id follows from when it starts signing, so processes racing to create the same key agree:
// one insert wins, the others get EConflict and read the winner's key.
func (r *keyRing) create(ctx context.Context, now time.Time) error {
	notBefore := now.Truncate(time.Minute)
	if signer := r.signerAt(now); signer != nil {
		notBefore = r.signEnd(signer.SigningKey)
	}
	priv, err := rsa.GenerateKey(rand.Reader, r.policy.Bits)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	k := &portier.SigningKey{
		ID: "rs256-" + notBefore.UTC().Format("20060102T150405Z"), Algorithm: "RS256", Private: der,
		Created: now, NotBefore: notBefore, Expires: notBefore.Add(r.policy.SignFor + r.policy.KeepAfter),
	}
	err = r.store.Tx(ctx, func(tx portier.Tx) error {
		if _, err := tx.DeleteSigningKeys(ctx, now); err != nil {
			return err
		}
		return tx.InsertSigningKey(ctx, k)
	})
	if portier.ErrorCode(err) == portier.EConflict {
		return nil
	}
	return err
}

// SigningKey returns the key that signs now.
func (r *keyRing) SigningKey(ctx context.Context) (op.SigningKey, error) {
	if _, err := r.current(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.signerAt(r.now())
	if k == nil {
		return nil, fmt.Errorf("no signing key")
	}
	return signingKey{k}, nil
}

// KeySet returns the published keys: every key from its Created until its Expires.
func (r *keyRing) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	now := r.now()
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		if !k.Created.After(now) && now.Before(k.Expires) {
			out = append(out, publicKey{k})
		}
	}
	return out, nil
}
