package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/demo"
	portierapp "github.com/portier-id/portier/internal/app"
	"github.com/portier-id/portier/mail"
	"github.com/portier-id/portier/postgres"
	"github.com/portier-id/portier/sqlite"
	"github.com/portier-id/portier/web"
)

// defaultMemoryLimit is the soft limit of the Go runtime's memory when GOMEMLIMIT is not set.
// Every argon2id check allocates 19 MiB that is garbage once it is done; at the default
// collection pace (GOGC=100) a saturated hashing left the heap at twice its live size and the
// process at 250 MB. Near this limit the collector runs sooner instead, and gives the memory
// back to the system; it is soft: a process that needs more gets it, at more collection work.
// The process's resident memory is this plus what the runtime does not count (the binary's
// pages, SQLite's page caches): at 160 MiB a saturated spray peaked at 200-203 MB, past the
// 200 MB that issue 12 sets; see BENCHMARKS.md.
const defaultMemoryLimit = 144 << 20

// setMemoryLimit sets defaultMemoryLimit unless GOMEMLIMIT chose another.
func setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// openStore opens the store a --db value names: sqlite:PATH or postgres://….
func openStore(ctx context.Context, dsn string) (portier.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, usageError("--db sqlite: needs a file path, such as sqlite:portier.db.")
		}
		return sqlite.Open(ctx, path)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	}
	return nil, usageError("--db must be sqlite:PATH or postgres://…, not %q.", dsn)
}

func (a *app) serveCommand() *cobra.Command {
	var addr, baseURL, trustedProxies, smtpURL, mailFrom, outbox, tlsCert, tlsKey string
	var demoData bool
	timeouts := web.DefaultTimeouts()
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080] [--db …] [--base-url http://…] [--tls-cert FILE --tls-key FILE] [--log-format text|json]",
		Short: "Run the Portier server",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := checkTimeouts(timeouts); err != nil {
				return err
			}
			if (tlsCert == "") != (tlsKey == "") {
				return usageError("--tls-cert and --tls-key go together: give both, or neither.")
			}
			var certs *certificate
			if tlsCert != "" {
				var err error
				if certs, err = loadCertificate(tlsCert, tlsKey); err != nil {
					return err
				}
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			setMemoryLimit()
			if demoData {
				res, err := demo.Seed(ctx, a.store, a.dir.Hasher(), a.now())
				if err != nil {
					return err
				}
				fmt.Fprint(a.stdout, res.Describe())
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %w", addr, err)
			}
			scheme := "http"
			if certs != nil {
				scheme = "https"
			}
			if baseURL == "" {
				baseURL = scheme + "://" + ln.Addr().String()
			}
			base, err := url.Parse(baseURL)
			if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
				ln.Close()
				return usageError("--base-url must be an http:// or https:// URL, not %q.", baseURL)
			}
			if certs != nil && base.Scheme != "https" {
				ln.Close()
				return usageError("--base-url must be an https:// URL when Portier serves TLS itself (--tls-cert), not %q.", baseURL)
			}
			proxies, err := parsePrefixes(trustedProxies)
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			application, err := portierapp.New(ctx, portierapp.Config{
				Store: a.store, Hasher: a.dir.Hasher(), Now: a.now, Log: a.log, BaseURL: base, TrustedProxies: proxies,
				Mail:    mail.Config{URL: smtpURL, From: mailFrom, Outbox: outbox, Log: a.log},
				Process: fmt.Sprintf("%s/%d", host, os.Getpid()), Timeouts: timeouts,
			})
			if err != nil {
				return err
			}
			defer application.Close(context.Background())
			a.dir = application.Directory
			if err := application.Start(ctx); err != nil {
				return err
			}
			go application.Maintain(ctx)
			srv := web.HTTPServer(application.Handler, timeouts)
			// net/http's own messages (a failed TLS handshake, a panic) go through slog too, so
			// every line on stderr has the chosen format.
			srv.ErrorLog = slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)
			if certs != nil {
				// HTTP/2 is on: net/http offers h2 over TLS by ALPN when the config allows it.
				srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get, NextProtos: []string{"h2", "http/1.1"}}
				ln = tls.NewListener(ln, srv.TLSConfig)
			}
			if err := a.announceSetup(ctx, base); err != nil {
				return err
			}
			a.log.Info("portier listening", "addr", ln.Addr().String(), "base_url", baseURL, "db", redactDSN(a.db), "tls", certs != nil)
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a.log.Info("portier shutting down")
			if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", a.envDefault("PORTIER_ADDR", "127.0.0.1:8080"), "address to listen on (env PORTIER_ADDR)")
	cmd.Flags().StringVar(&trustedProxies, "trusted-proxies", a.envDefault("PORTIER_TRUSTED_PROXIES", ""),
		"comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed (env PORTIER_TRUSTED_PROXIES)")
	cmd.Flags().StringVar(&baseURL, "base-url", a.envDefault("PORTIER_BASE_URL", ""),
		"the public URL of this server, https in production; defaults to http://ADDR (env PORTIER_BASE_URL)")
	cmd.Flags().StringVar(&smtpURL, "smtp-url", a.envDefault("PORTIER_SMTP_URL", ""),
		"SMTP server for mail: smtp://[user:password@]host[:587] (STARTTLS required; ?tls=opportunistic|none) or smtps://…:465; empty writes mail as .eml files to --mail-outbox (env PORTIER_SMTP_URL)")
	cmd.Flags().StringVar(&mailFrom, "mail-from", a.envDefault("PORTIER_MAIL_FROM", "portier@localhost"), "sender address of Portier's mail (env PORTIER_MAIL_FROM)")
	cmd.Flags().StringVar(&outbox, "mail-outbox", a.envDefault("PORTIER_MAIL_OUTBOX", "portier-outbox"),
		"folder for mail as .eml files when no SMTP server is set (env PORTIER_MAIL_OUTBOX)")
	a.durationFlag(cmd, &timeouts.ReadHeader, "read-header-timeout", "PORTIER_READ_HEADER_TIMEOUT", "how long a client may take to send a request's headers")
	a.durationFlag(cmd, &timeouts.Read, "read-timeout", "PORTIER_READ_TIMEOUT", "how long a client may take to send a whole request, body included")
	a.durationFlag(cmd, &timeouts.Write, "write-timeout", "PORTIER_WRITE_TIMEOUT", "how long a request may take from its headers to the end of its answer; at least --request-timeout")
	a.durationFlag(cmd, &timeouts.Idle, "idle-timeout", "PORTIER_IDLE_TIMEOUT", "how long an idle keep-alive connection is kept open")
	a.durationFlag(cmd, &timeouts.Request, "request-timeout", "PORTIER_REQUEST_TIMEOUT", "the deadline of a request's work (store, password check); past it the answer is 503")
	a.durationFlag(cmd, &timeouts.Upload, "upload-timeout", "PORTIER_UPLOAD_TIMEOUT", "replaces the read, write and request timeouts for the CSV import (up to 16 MiB) and the log exports")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", a.envDefault("PORTIER_TLS_CERT", ""),
		"serve HTTPS with this PEM certificate chain (with --tls-key); cookies become Secure and HTTP/2 is on; the files are read again when they change (env PORTIER_TLS_CERT)")
	cmd.Flags().StringVar(&tlsKey, "tls-key", a.envDefault("PORTIER_TLS_KEY", ""), "the PEM private key of --tls-cert (env PORTIER_TLS_KEY)")
	cmd.Flags().BoolVar(&demoData, "demo", a.envBool("PORTIER_DEMO"),
		"fill an empty directory with about 50 sample people in every state, and print the demo admin's password once on stdout (env PORTIER_DEMO=1)")
	return cmd
}

// durationFlag adds a duration flag whose default comes from env, or else is *v. An
// unreadable env value leaves -1, which checkTimeouts refuses.
func (a *app) durationFlag(cmd *cobra.Command, v *time.Duration, name, env, usage string) {
	if s := a.getenv(env); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			*v = d
		} else {
			*v = -1 // refused by checkTimeouts
		}
	}
	cmd.Flags().DurationVar(v, name, *v, usage+" (env "+env+")")
}

// checkTimeouts refuses timeouts that are not positive, or a write timeout shorter than the
// request deadline (the 503 of a request that ran out of time could not be written).
func checkTimeouts(t web.Timeouts) error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--read-header-timeout", t.ReadHeader}, {"--read-timeout", t.Read}, {"--write-timeout", t.Write},
		{"--idle-timeout", t.Idle}, {"--request-timeout", t.Request}, {"--upload-timeout", t.Upload}} {
		if d.v <= 0 {
			return usageError("%s (or its environment variable) must be a positive duration such as 30s or 2m.", d.name)
		}
	}
	if t.Write < t.Request {
		return usageError("--write-timeout (%s) must be at least --request-timeout (%s).", t.Write, t.Request)
	}
	return nil
}

// announceSetup gives the operator of an empty directory a one-time setup link (on stdout,
// like every secret Portier prints) and the command that does the same from the shell.
func (a *app) announceSetup(ctx context.Context, base *url.URL) error {
	n, err := a.dir.CountUsers(ctx, portier.UserFilter{})
	if err != nil || n > 0 {
		return err
	}
	token, expires, err := a.dir.IssueSetupToken(ctx)
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil // another process or command created a user meanwhile
	} else if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, `
Open this link to create the first global admin; it works once, until %s:

    %s/setup?token=%s

`, expires.UTC().Format("15:04 MST"), strings.TrimSuffix(base.String(), "/"), token)
	fmt.Fprintf(a.stderr, `
The directory is empty. Open the setup link printed on stdout, or create the first global admin with:

    %s users create admin@example.org --display-name "Administrator" --role global-admin --generate-password --db %s

`, commandName(os.Args[0]), redactDSN(a.db))
	return nil
}

// commandName is how the operator who started this process runs Portier again, for a command
// line that Portier prints to be copied: the name as typed when it was found in PATH, the path
// as typed otherwise, and "go run ./cmd/portier" for a binary that go run built in a temporary
// folder, which is gone when it ends.
func commandName(arg0 string) string {
	switch {
	case strings.Contains(arg0, string(filepath.Separator)+"go-build"):
		return "go run ./cmd/portier"
	case arg0 == "":
		return "portier"
	}
	return arg0
}

// parsePrefixes reads a comma-separated list of addresses and CIDR ranges.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, usageError("--trusted-proxies: %q is neither an address nor a CIDR range.", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// redactDSN hides a password in a database URL before it is logged.
func redactDSN(dsn string) string {
	if at := strings.Index(dsn, "@"); at > 0 {
		if scheme := strings.Index(dsn, "://"); scheme > 0 && scheme < at {
			return dsn[:scheme+3] + "…" + dsn[at:]
		}
	}
	return dsn
}
