package directory

import "github.com/portier-id/portier"

// Store is what the directory service needs of the store: it reads users, the logs, security
// info (for the admin center), tokens (setup links), applications and settings, and makes
// every change in a transaction, where it has the whole portier.Tx.
type Store interface {
	portier.UserReader
	portier.LogReader
	portier.MethodReader
	portier.TokenReader
	portier.AppReader
	portier.SettingReader
	portier.Transactor
}

// setupReader is what the one-time setup reads, outside or inside a transaction.
type setupReader interface {
	portier.UserReader
	portier.TokenReader
	portier.SettingReader
}
