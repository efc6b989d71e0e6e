package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
)

func (a *app) appsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Short: "Manage the applications that sign users in through Portier (OpenID Connect clients)"}
	cmd.AddCommand(a.appsCreate(), a.appsList(), a.appsDelete(), a.appsPermissions())
	return cmd
}

func (a *app) appsCreate() *cobra.Command {
	var in directory.AppInput
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create NAME (--redirect-uri URI... [--public] [--post-logout-redirect-uri URI...] [--assigned-only] | --client-credentials --permission PERM...)",
		Short: "Register an application; its client secret is printed once on stdout",
		Long: "Register an application. With --redirect-uri it signs its users in through OpenID Connect; with\n" +
			"--client-credentials it acts on its own behalf (a script using the Graph-compatible API at /v1.0),\n" +
			"with the application permissions given by --permission: " + strings.Join(portier.AppPermissions, ", ") + ".",
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(in.RedirectURIs) == 0 && !in.ClientCredentials {
				return usageError("--redirect-uri is required (where Portier may send the browser back with the code), or --client-credentials for a script.")
			}
			if len(in.Permissions) > 0 && !in.ClientCredentials {
				return usageError("--permission is for an application that acts on its own behalf: add --client-credentials.")
			}
			in.Name = args[0]
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			app, secret, err := a.dir.CreateApp(cmd.Context(), a.cliActor(), in)
			if err != nil {
				return err
			}
			tenant := ""
			if app.ClientCredentials {
				if tenant, err = a.dir.TenantID(cmd.Context()); err != nil {
					return err
				}
			}
			if asJSON {
				out := map[string]any{"clientId": app.ID, "displayName": app.Name, "publicClient": app.Public}
				if secret != "" {
					out["clientSecret"] = secret
				}
				if app.ClientCredentials {
					out["tenantId"], out["permissions"] = tenant, app.Permissions
				}
				return a.writeJSON(out)
			}
			fmt.Fprintf(a.stdout, "Client ID: %s\n", app.ID)
			if secret != "" {
				fmt.Fprintf(a.stdout, "Client secret: %s\n", secret)
				fmt.Fprintln(a.stderr, "The client secret is shown this once and stored only as a hash: keep it now.")
			}
			if app.ClientCredentials {
				fmt.Fprintf(a.stdout, "Tenant ID: %s\n", tenant)
				fmt.Fprintf(a.stdout, "Permissions: %s\n", strings.Join(app.Permissions, " "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&in.RedirectURIs, "redirect-uri", nil, "a redirect URI: https, or http://localhost or http://127.0.0.1 (repeatable; at least one)")
	f.StringArrayVar(&in.PostLogoutURIs, "post-logout-redirect-uri", nil, "where sign-out may send the browser back to (repeatable)")
	f.BoolVar(&in.Public, "public", false, "a public client (single-page or native app): no secret, PKCE with S256 required")
	f.BoolVar(&in.AssignedOnly, "assigned-only", false, "only users assigned to the application may sign in to it")
	f.BoolVar(&in.ClientCredentials, "client-credentials", false, "the application acts on its own behalf (a script): OAuth 2.0 client credentials, no redirect URI needed")
	f.StringArrayVar(&in.Permissions, "permission", nil, "an application permission for --client-credentials (repeatable): "+strings.Join(portier.AppPermissions, ", "))
	f.BoolVar(&asJSON, "json", false, "print one JSON document with clientId and clientSecret")
	return cmd
}

func (a *app) appsPermissions() *cobra.Command {
	var add, remove []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "permissions CLIENT_ID [--add PERM...] [--remove PERM...] [--json]",
		Short: "Show or change an application's application permissions (Graph's names)",
		Long:  "Grant (--add) or remove (--remove) application permissions; without either, show them. Permissions: " + strings.Join(portier.AppPermissions, ", ") + ".",
		Args:  exactArgs(1, "CLIENT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			var app *portier.App
			var err error
			if len(add) == 0 && len(remove) == 0 {
				app, err = a.dir.App(cmd.Context(), a.cliActor(), args[0])
			} else {
				app, err = a.dir.SetAppPermissions(cmd.Context(), a.cliActor(), args[0], add, remove)
			}
			if err != nil {
				return err
			}
			perms := app.Permissions
			if perms == nil {
				perms = []string{}
			}
			if asJSON {
				return a.writeJSON(map[string]any{"clientId": app.ID, "displayName": app.Name, "permissions": perms})
			}
			if len(perms) == 0 {
				fmt.Fprintf(a.stdout, "%s (%s) has no application permissions.\n", app.Name, app.ID)
				return nil
			}
			fmt.Fprintf(a.stdout, "%s (%s): %s\n", app.Name, app.ID, strings.Join(perms, " "))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&add, "add", nil, "a permission to grant (repeatable)")
	f.StringArrayVar(&remove, "remove", nil, "a permission to remove (repeatable)")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) appsList() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the applications, ordered by name",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			apps, err := a.dir.ListApps(cmd.Context(), a.cliActor())
			if err != nil {
				return err
			}
			if apps == nil {
				apps = []*portier.App{}
			}
			if asJSON {
				return a.writeJSON(map[string]any{"value": apps})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tASSIGNED ONLY\tREDIRECT URIS")
			for _, app := range apps {
				kind := "confidential"
				if app.Public {
					kind = "public"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", app.ID, app.Name, kind, app.AssignedOnly, strings.Join(app.RedirectURIs, " "))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) appsDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete an application; its users' tokens for it end at once",
		Args:  exactArgs(1, "CLIENT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			if err := a.dir.DeleteApp(cmd.Context(), a.cliActor(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Deleted application %s.\n", args[0])
			return nil
		},
	}
}
