package oidc

import "github.com/portier-id/portier"

// Store is what the provider needs of the store: it reads users, sessions, tokens (requests,
// codes, access and refresh tokens), applications, signing keys and settings, pings the
// database for its health, and makes every change in a transaction.
type Store interface {
	portier.UserReader
	portier.SessionReader
	portier.TokenReader
	portier.AppReader
	portier.KeyReader
	portier.SettingReader
	portier.Transactor
	portier.Pinger
}

// grantReader is what reading an authorization request or a session needs, outside or
// inside a transaction.
type grantReader interface {
	portier.SessionReader
	portier.TokenReader
}

// keyStore is what the key ring needs: the signing keys, and transactions to rotate them.
type keyStore interface {
	portier.KeyReader
	portier.Transactor
}

// settingStore is what the sealing key needs: one setting, created in a transaction.
type settingStore interface {
	portier.SettingReader
	portier.Transactor
}
