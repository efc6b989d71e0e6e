package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
)

// channel is the PostgreSQL channel of a Portier channel. NOTIFY channels are database-wide,
// so the name carries a hash of the schema the store works in: stores in other schemas of
// the same database (tests run that way) never hear each other.
func (s *Store) channel(name string) string {
	return "portier_" + name + "_" + s.schemaTag
}

// schemaTag returns the short hash of the connection's current schema.
func schemaTag(ctx context.Context, db dbtx) (string, error) {
	var schema string
	if err := db.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(schema))
	return hex.EncodeToString(sum[:4]), nil
}

// Publish sends payload with NOTIFY, which PostgreSQL delivers to every listening session,
// of every process, when the transaction commits, and drops when it rolls back.
func (t *tx) Publish(ctx context.Context, channel, payload string) error {
	if len(payload) > 1000 {
		return portier.Errorf(portier.EInvalid, "A published message may hold at most 1,000 bytes.")
	}
	_, err := t.ptx.Exec(ctx, "SELECT pg_notify($1, $2)", t.store.channel(channel), payload)
	return dbError(t.addr, "notify", err)
}

// Subscribe listens on channel on a connection of its own and hands each payload to fn. A
// lost connection is made again, with fn("") since messages may have been missed meanwhile.
func (s *Store) Subscribe(ctx context.Context, channel string, fn func(payload string)) error {
	name := s.channel(channel)
	listen := func() (*pgx.Conn, error) {
		conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
		if err != nil {
			return nil, dbError(s.addr, "connect to listen", err)
		}
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return nil, dbError(s.addr, "listen", err)
		}
		return conn, nil
	}
	conn, err := listen()
	if err != nil {
		return err
	}
	go func() {
		pause := 100 * time.Millisecond
		for {
			n, err := conn.WaitForNotification(ctx)
			if err == nil {
				fn(n.Payload)
				continue
			}
			conn.Close(context.WithoutCancel(ctx))
			for {
				if ctx.Err() != nil {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(pause):
				}
				if conn, err = listen(); err == nil {
					pause = 100 * time.Millisecond
					fn("")
					break
				}
				pause = min(2*pause, 10*time.Second)
			}
		}
	}()
	return nil
}
