package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	portierapp "github.com/portier-id/portier/internal/app"
	"github.com/portier-id/portier/password"
)

// app holds what every command shares: the configuration read from flags and environment,
// and the store and services opened for the command.
type app struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	db           string
	argon2Memory uint32
	argon2Time   uint32
	logLevel     string
	now          portier.Clock
	log          *slog.Logger
	// store is the whole store: the command opens and closes it and hands it to the
	// services; a command that reads it itself takes a narrow interface (signInReader).
	store portier.Store
	dir   *directory.Service
}

// envDefault returns the environment variable's value, or def when it is unset.
func (a *app) envDefault(name, def string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	return def
}

// envBool reads a yes/no environment variable: 1, true, yes or on (any case) mean yes.
func (a *app) envBool(name string) bool {
	switch strings.ToLower(strings.TrimSpace(a.getenv(name))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (a *app) envUint(name string, def uint32) uint32 {
	v := a.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return def
	}
	return uint32(n)
}

func newRootCommand(ctx context.Context, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	a := &app{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	root := &cobra.Command{
		Use:   "portier",
		Short: "Portier: a self-hosted directory and sign-in service",
		Long: `Portier is a self-hosted directory and sign-in service: users with roles, password
sign-in with smart lockout, an admin center, self-service password reset and OpenID Connect.

Every flag can also be set through the environment variable named in its help.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPostRunE: func(cmd *cobra.Command, args []string) error {
			if a.store != nil {
				return a.store.Close()
			}
			return nil
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	def := password.DefaultParams()
	pf := root.PersistentFlags()
	pf.StringVar(&a.db, "db", a.envDefault("PORTIER_DB", "sqlite:portier.db"),
		"store: sqlite:PATH (embedded, created on first use) or postgres://… (env PORTIER_DB)")
	pf.Uint32Var(&a.argon2Memory, "argon2-memory", a.envUint("PORTIER_ARGON2_MEMORY", def.Memory),
		"argon2id memory in KiB for new password hashes; lower only in tests (env PORTIER_ARGON2_MEMORY)")
	pf.Uint32Var(&a.argon2Time, "argon2-time", a.envUint("PORTIER_ARGON2_TIME", def.Time),
		"argon2id passes for new password hashes; lower only in tests (env PORTIER_ARGON2_TIME)")
	pf.StringVar(&a.logLevel, "log-level", a.envDefault("PORTIER_LOG_LEVEL", "info"),
		"log level: debug, info, warn or error (env PORTIER_LOG_LEVEL)")
	root.AddCommand(a.serveCommand(), a.usersCommand(), a.auditCommand(), a.signinsCommand(), a.settingsCommand(),
		a.appsCommand())
	refuseUnknownCommands(root)
	return root
}

// refuseUnknownCommands makes every command that only groups others ("portier", "portier
// users", …) refuse a word it does not know as a usage error, where cobra would print the
// help and exit 0 below the top level: a script that misspells a command must not take it
// for done. Without a word the group still prints its help. "portier help WORD" refuses an
// unknown WORD the same way.
func refuseUnknownCommands(root *cobra.Command) {
	root.InitDefaultCompletionCmd() // added now rather than at Execute, so that the walk sees it
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && !c.Runnable() {
			c.Args = cobra.ArbitraryArgs
			c.SuggestionsMinimumDistance = 2
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return cmd.Help()
				}
				return unknownCommand(cmd, args[0])
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	root.InitDefaultHelpCmd() // so that it is there to replace
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			root.RemoveCommand(c)
		}
	}
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || target == nil {
				return unknownCommand(root, args[0])
			}
			if len(rest) > 0 && target.HasSubCommands() {
				return unknownCommand(target, rest[0])
			}
			return target.Help()
		},
	})
}

// unknownCommand is the one-line usage error for a word that names no command of parent.
func unknownCommand(parent *cobra.Command, word string) error {
	hint := ""
	if s := parent.SuggestionsFor(word); len(s) > 0 {
		hint = " Did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError("unknown command %q for %q; see %s --help.%s", word, parent.CommandPath(), parent.CommandPath(), hint)
}

// open opens the store and the directory service for a command.
func (a *app) open(ctx context.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usageError("--log-level must be debug, info, warn or error")
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	st, err := openStore(ctx, a.db)
	if err != nil {
		return err
	}
	a.store = st
	params := password.DefaultParams()
	params.Memory, params.Time = a.argon2Memory, a.argon2Time
	a.dir = portierapp.NewDirectory(portierapp.Config{Store: st, Hasher: password.Hasher{Params: params}, Now: a.now, Log: a.log})
	return nil
}

// cliActor is the operator at the command line: global-admin rights, recorded with the OS user.
func (a *app) cliActor() portier.Actor {
	name := a.getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return portier.CLIActor(name)
}

func usageError(format string, args ...any) error {
	return portier.Errorf(portier.EInvalid, format, args...)
}

// readPassword reads one line from stdin: the password, without its line ending.
func (a *app) readPassword() (string, error) {
	r := bufio.NewReader(io.LimitReader(a.stdin, 64*1024))
	line, err := r.ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError("No password on stdin: pipe one line, or use --generate-password.")
	}
	return line, nil
}

func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) usersCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage the directory's users"}
	cmd.AddCommand(a.usersCreate(), a.usersList(), a.usersShow(), a.usersResetPassword(),
		a.usersUnlock(), a.usersSignInStatus(true), a.usersSignInStatus(false),
		a.usersRevokeSessions(), a.usersResetSecurityInfo(), a.usersTAP(), a.usersDelete())
	return cmd
}

// passwordSource reads the --password-stdin / --generate-password pair.
func (a *app) passwordSource(fromStdin, generate bool) (string, error) {
	switch {
	case fromStdin && generate:
		return "", usageError("Use either --password-stdin or --generate-password, not both.")
	case generate:
		return "", nil
	case fromStdin:
		return a.readPassword()
	}
	return "", usageError("Say where the password comes from: --password-stdin or --generate-password.")
}

func (a *app) usersCreate() *cobra.Command {
	var nu directory.NewUser
	var roles []string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "create UPN --display-name NAME (--password-stdin | --generate-password)",
		Short: "Create a user; a generated password is printed once on stdout",
		Args:  exactArgs(1, "UPN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if nu.DisplayName == "" {
				return usageError("--display-name is required.")
			}
			for _, r := range roles {
				role, err := portier.ParseRole(r)
				if err != nil {
					return err
				}
				nu.Roles = append(nu.Roles, role)
			}
			pw, err := a.passwordSource(fromStdin, nu.Generate)
			if err != nil {
				return err
			}
			nu.UPN, nu.Password = args[0], pw
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			u, generated, err := a.dir.CreateUser(cmd.Context(), a.cliActor(), nu)
			if err != nil {
				return err
			}
			if generated != "" {
				fmt.Fprintln(a.stdout, generated)
			} else {
				fmt.Fprintf(a.stdout, "Created %s (%s).\n", u.UPN, u.ID)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&nu.DisplayName, "display-name", "", "the user's display name (required)")
	f.StringVar(&nu.Mail, "mail", "", "the user's mail address")
	f.StringArrayVar(&roles, "role", nil, "an administrative role: helpdesk-admin, user-admin or global-admin (repeatable)")
	f.BoolVar(&fromStdin, "password-stdin", false, "read the initial password from the first line of stdin")
	f.BoolVar(&nu.Generate, "generate-password", false, "generate a random password and print it once on stdout")
	f.BoolVar(&nu.ForceChange, "force-change", false, "make the user choose a new password at the first sign-in")
	return cmd
}

func (a *app) usersList() *cobra.Command {
	var search, status string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--search TEXT] [--status locked|blocked|active] [--json]",
		Short: "List users, ordered by user name",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := portier.UserFilter{Search: search, Status: portier.UserStatus(status), Limit: 500}
			switch f.Status {
			case portier.StatusAny, portier.StatusLocked, portier.StatusBlocked, portier.StatusActive:
			default:
				return usageError("--status must be locked, blocked or active.")
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			users := []*portier.User{}
			for {
				page, err := a.dir.ListUsers(cmd.Context(), f)
				if err != nil {
					return err
				}
				users = append(users, page.Users...)
				if page.Next == "" {
					break
				}
				f.After = page.Next
			}
			if asJSON {
				return a.writeJSON(map[string]any{"value": users})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER NAME\tDISPLAY NAME\tSTATUS\tROLES")
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.UPN, u.DisplayName, statusText(u), rolesText(u.Roles))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&search, "search", "", "keep users whose user name or display name starts with TEXT")
	cmd.Flags().StringVar(&status, "status", "", "keep users that are locked, blocked or active")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) usersShow() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show UPN [--json]",
		Short: "Show a user, with lockout state and sign-in status",
		Args:  exactArgs(1, "UPN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			u, err := a.dir.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(u)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "User name:\t%s\n", u.UPN)
			fmt.Fprintf(tw, "Id:\t%s\n", u.ID)
			fmt.Fprintf(tw, "Display name:\t%s\n", u.DisplayName)
			fmt.Fprintf(tw, "Mail:\t%s\n", u.Mail)
			fmt.Fprintf(tw, "Status:\t%s\n", statusText(u))
			fmt.Fprintf(tw, "Sign-in allowed:\t%v\n", u.AccountEnabled)
			fmt.Fprintf(tw, "Failed attempts:\t%d\n", u.Lockout.FailedAttempts)
			fmt.Fprintf(tw, "Must change password:\t%v\n", u.PasswordProfile.ForceChangePasswordNextSignIn)
			fmt.Fprintf(tw, "Roles:\t%s\n", rolesText(u.Roles))
			fmt.Fprintf(tw, "Last sign-in:\t%s\n", timeText(u.LastSignIn))
			fmt.Fprintf(tw, "Created:\t%s\n", u.Created.UTC().Format(time.RFC3339))
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) usersResetPassword() *cobra.Command {
	var r directory.PasswordReset
	var fromStdin, noForce bool
	cmd := &cobra.Command{
		Use:   "reset-password UPN (--password-stdin | --generate-password) [--no-force-change]",
		Short: "Reset a user's password, unlock the account and sign the user out everywhere",
		Args:  exactArgs(1, "UPN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := a.passwordSource(fromStdin, r.Generate)
			if err != nil {
				return err
			}
			r.Password, r.ForceChange = pw, !noForce
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			generated, err := a.dir.ResetPassword(cmd.Context(), a.cliActor(), args[0], r)
			if err != nil {
				return err
			}
			if generated != "" {
				fmt.Fprintln(a.stdout, generated)
			} else {
				fmt.Fprintf(a.stdout, "Password reset for %s.\n", args[0])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&fromStdin, "password-stdin", false, "read the new password from the first line of stdin")
	f.BoolVar(&r.Generate, "generate-password", false, "generate a random password and print it once on stdout")
	f.BoolVar(&noForce, "no-force-change", false, "do not make the user choose a new password at the next sign-in")
	f.BoolVar(&r.KeepSessions, "keep-sessions", false, "leave the user's sessions signed in")
	return cmd
}

// simpleAction makes a command that takes one UPN and calls do with it.
func (a *app) simpleAction(use, short, done string, do func(ctx context.Context, actor portier.Actor, upn string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " UPN",
		Short: short,
		Args:  exactArgs(1, "UPN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			if err := do(cmd.Context(), a.cliActor(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, done+"\n", args[0])
			return nil
		},
	}
}

func (a *app) usersUnlock() *cobra.Command {
	return a.simpleAction("unlock", "Unlock a user locked out after failed sign-ins", "Unlocked %s.",
		func(ctx context.Context, actor portier.Actor, upn string) error { return a.dir.Unlock(ctx, actor, upn) })
}

func (a *app) usersSignInStatus(enabled bool) *cobra.Command {
	if enabled {
		return a.simpleAction("unblock", "Allow a blocked user to sign in again", "Sign-in allowed for %s.",
			func(ctx context.Context, actor portier.Actor, upn string) error {
				return a.dir.SetSignInStatus(ctx, actor, upn, true)
			})
	}
	return a.simpleAction("block", "Block a user from signing in and end every session", "Sign-in blocked for %s.",
		func(ctx context.Context, actor portier.Actor, upn string) error {
			return a.dir.SetSignInStatus(ctx, actor, upn, false)
		})
}

func (a *app) usersRevokeSessions() *cobra.Command {
	return a.simpleAction("revoke-sessions", "Sign a user out of every session and application", "Signed %s out everywhere.",
		func(ctx context.Context, actor portier.Actor, upn string) error {
			return a.dir.RevokeSessions(ctx, actor, upn)
		})
}

func (a *app) usersResetSecurityInfo() *cobra.Command {
	return a.simpleAction("reset-security-info", "Remove a user's security info (alternate email, authenticator app) so that they register anew",
		"Removed the security info of %s; they register it anew.",
		func(ctx context.Context, actor portier.Actor, upn string) error {
			return a.dir.ResetSecurityInfo(ctx, actor, upn)
		})
}

func (a *app) usersDelete() *cobra.Command {
	return a.simpleAction("delete", "Delete a user", "Deleted %s.",
		func(ctx context.Context, actor portier.Actor, upn string) error {
			return a.dir.DeleteUser(ctx, actor, upn)
		})
}

func (a *app) auditCommand() *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--json]",
		Short: "Show the audit log of administrative actions, newest first",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			events, err := a.dir.ListAudit(cmd.Context(), portier.AuditFilter{Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(map[string]any{"value": events})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tRESULT\tDETAIL")
			for _, e := range events {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Actor, e.Action, e.Target, e.Outcome, e.Detail)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	cmd.Flags().IntVar(&limit, "limit", 1000, "show at most this many entries")
	return cmd
}

// exactArgs is cobra.ExactArgs with a message that names what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		if n == 0 {
			return usageError("%s takes no arguments; see --help.", cmd.CommandPath())
		}
		return usageError("%s needs %s; see --help.", cmd.CommandPath(), what)
	}
}

func statusText(u *portier.User) string {
	var parts []string
	if u.Lockout.Locked {
		parts = append(parts, fmt.Sprintf("locked until %s", u.Lockout.LockedUntil.Format(time.RFC3339)))
	}
	if !u.AccountEnabled {
		parts = append(parts, "sign-in blocked")
	}
	if u.PasswordProfile.ForceChangePasswordNextSignIn {
		parts = append(parts, "must change password")
	}
	if len(parts) == 0 {
		return "active"
	}
	return strings.Join(parts, "; ")
}

func rolesText(roles []portier.Role) string {
	if len(roles) == 0 {
		return "-"
	}
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func timeText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func (a *app) signinsCommand() *cobra.Command {
	var asJSON bool
	var upn string
	var limit int
	cmd := &cobra.Command{
		Use:   "signins [--user UPN] [--json]",
		Short: "Show the sign-in log, newest first",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			entries, err := signInLog(cmd.Context(), a.store, upn, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(map[string]any{"value": entries})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tUSER NAME\tCODE\tADDRESS\tFAMILIAR\tHASHED\tDETAIL")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%v\t%v\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Username, e.Code,
					e.Source, e.FamiliarDevice, e.HashComputed, e.Detail)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	cmd.Flags().StringVar(&upn, "user", "", "keep the attempts at this user name")
	cmd.Flags().IntVar(&limit, "limit", 1000, "show at most this many entries")
	return cmd
}

// signInReader is what the sign-in log command reads of the store.
type signInReader interface {
	portier.UserReader
	portier.LogReader
}

// signInLog returns the newest limit entries of the sign-in log, only those of upn if set.
func signInLog(ctx context.Context, store signInReader, upn string, limit int) ([]*portier.SignIn, error) {
	f := portier.SignInFilter{Limit: limit}
	if upn != "" {
		norm, err := portier.NormalizeUPN(upn)
		if err != nil {
			return nil, err
		}
		// Entries of a known user carry its id; a name that is no user's is found as typed.
		if u, err := store.UserByUPN(ctx, norm); err == nil {
			f.UserID = u.ID
		} else if portier.ErrorCode(err) == portier.ENotFound {
			f.Username = norm
		} else {
			return nil, err
		}
	}
	return store.ListSignIns(ctx, f)
}
