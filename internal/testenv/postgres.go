package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the environment variable with the PostgreSQL URL tests use.
const PostgresEnv = "PORTIER_TEST_POSTGRES"

// DefaultPostgresURL is the test database when PostgresEnv is unset: the local server, trust
// authentication, database test.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// skipWarning prints the "PostgreSQL tests skipped" banner once per test binary.
var skipWarning sync.Once

// PostgresURL returns the URL of a new, empty schema in the test database (PostgresEnv, else
// DefaultPostgresURL), for a test of any package that needs PostgreSQL; the schema is dropped
// when the test ends. The URL selects the schema with search_path, so parallel tests, and
// parallel CI runs on one server, never see each other's rows.
//
// When PostgreSQL cannot be reached the test fails under CI=true and is skipped otherwise,
// with a banner on stderr so the skip is not mistaken for a pass.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		base = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL is not reachable (%s=%q): %v", PostgresEnv, redact(base), err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s\nCI=true: the PostgreSQL tests may not be skipped; start PostgreSQL or set %s.", msg, PostgresEnv)
		}
		skipWarning.Do(func() {
			fmt.Fprintf(os.Stderr, "\n!!! PostgreSQL TESTS SKIPPED: %s\n!!! Start PostgreSQL or set %s; under CI=true this fails.\n\n", msg, PostgresEnv)
		})
		t.Skipf("PostgreSQL TESTS SKIPPED: %s", msg)
	}
	defer conn.Close(context.Background())

	var b [8]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		// Runs after the cleanups registered later, such as the test's Store.Close.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	return withSearchPath(base, schema)
}

// withSearchPath returns the connection string base that also sets search_path to schema,
// in either form pgx accepts: a URL or key=value pairs.
func withSearchPath(base, schema string) string {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return base + " search_path=" + schema
}

// redact hides the password of a connection URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
