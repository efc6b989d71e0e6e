package signin

import (
	"context"
	"crypto/rand"

	"github.com/portier-id/portier"
)

// secretKey is the setting that holds the service's secret.
const secretKey = "secret"

// SecretStore is what LoadSecret needs of the store.
type SecretStore interface {
	Transactor
	Setting(ctx context.Context, key string) ([]byte, error)
}

// LoadSecret returns the service's secret, creating it on first use. It lives in the store so
// that every process sharing it signs and checks the same device cookies and dummy salts.
func LoadSecret(ctx context.Context, store SecretStore) ([]byte, error) {
	b, err := store.Setting(ctx, secretKey)
	if err != nil || len(b) > 0 {
		return b, err
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	err = store.Tx(ctx, func(tx portier.Tx) error {
		_, err := tx.InsertSetting(ctx, secretKey, fresh)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Another process may have won the race: the stored value is the one every process uses.
	return store.Setting(ctx, secretKey)
}
