package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/portier-id/portier"
)

// setting is one organisation setting as the command line names it.
type setting struct {
	name string
	help string
	get  func(st portier.Settings) string
	set  func(st *portier.Settings, v string) error
}

func durationSetting(name, help string, field func(st *portier.Settings) *time.Duration) setting {
	return setting{
		name: name, help: help,
		get: func(st portier.Settings) string { return field(&st).String() },
		set: func(st *portier.Settings, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return usageError("%s takes a duration such as 60s, 15m or 12h, not %q.", name, v)
			}
			*field(st) = d
			return nil
		},
	}
}

func intSetting(name, help string, field func(st *portier.Settings) *int) setting {
	return setting{
		name: name, help: help,
		get: func(st portier.Settings) string { return strconv.Itoa(*field(&st)) },
		set: func(st *portier.Settings, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return usageError("%s takes a whole number, not %q.", name, v)
			}
			*field(st) = n
			return nil
		},
	}
}

func stringSetting(name, help string, field func(st *portier.Settings) *string) setting {
	return setting{
		name: name, help: help,
		get: func(st portier.Settings) string { return *field(&st) },
		set: func(st *portier.Settings, v string) error { *field(st) = v; return nil },
	}
}

func boolSetting(name, help string, field func(st *portier.Settings) *bool) setting {
	return setting{
		name: name, help: help,
		get: func(st portier.Settings) string { return strconv.FormatBool(*field(&st)) },
		set: func(st *portier.Settings, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return usageError("%s takes true or false, not %q.", name, v)
			}
			*field(st) = b
			return nil
		},
	}
}

// methodList is a setting that is a comma-separated list of methods.
func methodList(name, help string, field func(st *portier.Settings) *[]portier.MethodKind) setting {
	return setting{
		name: name, help: help,
		get: func(st portier.Settings) string {
			var out []string
			for _, m := range *field(&st) {
				out = append(out, string(m))
			}
			return strings.Join(out, ",")
		},
		set: func(st *portier.Settings, v string) error {
			*field(st) = nil
			for _, m := range strings.Split(v, ",") {
				if m = strings.TrimSpace(m); m != "" {
					*field(st) = append(*field(st), portier.MethodKind(m))
				}
			}
			return nil
		},
	}
}

// methodsSetting is the comma-separated list of self-service methods.
var methodsSetting = methodList("sspr-methods", "methods users may register and use: email, totp, or email,totp",
	func(st *portier.Settings) *[]portier.MethodKind { return &st.Reset.Methods })

// settingsTable lists every setting the command line shows and changes.
var settingsTable = []setting{
	stringSetting("org-name", "the organisation's name, shown on pages and refused inside passwords", func(st *portier.Settings) *string { return &st.OrgName }),
	intSetting("lockout-threshold", "failed attempts that lock an account", func(st *portier.Settings) *int { return &st.Lockout.Threshold }),
	durationSetting("lockout-duration", "the first lockout's length; each further one doubles", func(st *portier.Settings) *time.Duration { return &st.Lockout.Duration }),
	durationSetting("lockout-max-duration", "the longest lockout", func(st *portier.Settings) *time.Duration { return &st.Lockout.MaxDuration }),
	durationSetting("lockout-decay", "time without failures that clears the count", func(st *portier.Settings) *time.Duration { return &st.Lockout.Decay }),
	intSetting("source-threshold", "failures from one address (IPv4, IPv6 /64), across accounts, that throttle it", func(st *portier.Settings) *int { return &st.SourceThreshold }),
	durationSetting("source-window", "how long an address's failures count, and how long it is throttled", func(st *portier.Settings) *time.Duration { return &st.SourceWindow }),
	intSetting("password-min-length", "minimum password length in characters (8 to 256)", func(st *portier.Settings) *int { return &st.PasswordMinLength }),
	durationSetting("session-idle", "a browser session ends after this long unused", func(st *portier.Settings) *time.Duration { return &st.SessionIdle }),
	durationSetting("session-absolute", "a browser session ends this long after sign-in", func(st *portier.Settings) *time.Duration { return &st.SessionAbsolute }),
	durationSetting("admin-session-idle", "an admin's session ends after this long unused", func(st *portier.Settings) *time.Duration { return &st.AdminSessionIdle }),
	durationSetting("signin-retention", "how long the sign-in log keeps an entry", func(st *portier.Settings) *time.Duration { return &st.SignInRetention }),
	stringSetting("default-language", "en or nl, for viewers who state no language", func(st *portier.Settings) *string { return &st.DefaultLanguage }),
	stringSetting("sspr-scope", "who may reset their own password: none, all or non-admins", func(st *portier.Settings) *string { return &st.Reset.Scope }),
	intSetting("sspr-methods-required", "methods a user must pass to reset (1 or 2; admins always 2)", func(st *portier.Settings) *int { return &st.Reset.MethodsRequired }),
	methodsSetting,
	boolSetting("sspr-allow-unlock", "a verified user may unlock without choosing a new password", func(st *portier.Settings) *bool { return &st.Reset.AllowUnlock }),
	boolSetting("sspr-require-registration", "ask users without enough methods to register right after sign-in", func(st *portier.Settings) *bool { return &st.Reset.RequireRegistration }),
	boolSetting("sspr-notify-user", "mail users when their password is reset through self-service", func(st *portier.Settings) *bool { return &st.Reset.NotifyUser }),
	boolSetting("sspr-notify-admins", "mail every global admin when an admin resets their own password", func(st *portier.Settings) *bool { return &st.Reset.NotifyAdmins }),
	boolSetting("lockout-email", "mail an account's owner once per lockout episode", func(st *portier.Settings) *bool { return &st.LockoutEmail }),
	durationSetting("access-token-lifetime", "how long an OpenID Connect access token lives", func(st *portier.Settings) *time.Duration { return &st.AccessTokenLifetime }),
	stringSetting("mfa-required", "who must pass a second factor at sign-in: none, admins or all", func(st *portier.Settings) *string { return &st.MFA.Required }),
	methodList("mfa-methods", "second factors users may register and use: totp, passkey, or totp,passkey",
		func(st *portier.Settings) *[]portier.MethodKind { return &st.MFA.Methods }),
	intSetting("mfa-remember-days", "spare the second factor at a browser that passed it within this many days (0: ask every time; at most 90)", func(st *portier.Settings) *int { return &st.MFA.RememberDays }),
	durationSetting("refresh-token-lifetime", "how long an OpenID Connect refresh token lives unused", func(st *portier.Settings) *time.Duration { return &st.RefreshTokenLifetime }),
}

func findSetting(name string) (setting, bool) {
	for _, s := range settingsTable {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}

func (a *app) settingsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "settings", Short: "Show or change the organisation's settings (lockout, passwords, sessions)"}
	var asJSON bool
	show := &cobra.Command{
		Use:   "show [--json]",
		Short: "Show every setting",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			st, err := a.dir.Settings(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				m := map[string]string{}
				for _, s := range settingsTable {
					m[s.name] = s.get(st)
				}
				return a.writeJSON(m)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			for _, s := range settingsTable {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.name, s.get(st), s.help)
			}
			return tw.Flush()
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	var names []string
	for _, s := range settingsTable {
		names = append(names, "  "+s.name+": "+s.help)
	}
	set := &cobra.Command{
		Use:   "set NAME=VALUE...",
		Short: "Change settings; every process sharing the store follows within seconds",
		Long:  "Change settings. The change is audited and reaches every process sharing the store within seconds.\n\nSettings:\n" + strings.Join(names, "\n"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("settings set needs NAME=VALUE; see --help.")
			}
			type change struct {
				s setting
				v string
			}
			var changes []change
			for _, arg := range args {
				name, value, ok := strings.Cut(arg, "=")
				s, known := findSetting(name)
				if !ok || !known {
					return usageError("Unknown setting %q: see portier settings set --help.", name)
				}
				changes = append(changes, change{s, value})
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			_, err := a.dir.UpdateSettings(cmd.Context(), a.cliActor(), func(st *portier.Settings) error {
				for _, c := range changes {
					if err := c.s.set(st, c.v); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "Settings changed.")
			return nil
		},
	}
	cmd.AddCommand(show, set)
	return cmd
}
