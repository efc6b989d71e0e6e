package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portier-id/portier/sqlite"
)

func (a *app) backupCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "backup FILE [--force]",
		Short: "Write a consistent copy of the SQLite store to FILE, also while portier serve runs",
		Long: `Write a consistent copy of the SQLite store to FILE, while servers and commands go on
using it: the copy is the store as one commit left it, checked for integrity, and opens as it
is with --db sqlite:FILE. An existing FILE is kept unless --force is given. To restore, stop
every portier process on the store and move the copy into its place.

On PostgreSQL, back up with pg_dump instead; this command prints the command to use.`,
		Args: exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dst := args[0]
			if !strings.HasPrefix(a.db, "sqlite:") {
				if strings.HasPrefix(a.db, "postgres://") || strings.HasPrefix(a.db, "postgresql://") {
					return usageError("portier backup copies a SQLite store; for PostgreSQL use pg_dump: pg_dump --format=custom --file=%s '%s' (restore with pg_restore --clean --if-exists --dbname='%s' %s).",
						dst, redactDSN(a.db), redactDSN(a.db), dst)
				}
				return usageError("--db must be sqlite:PATH or postgres://…, not %q.", a.db)
			}
			src := strings.TrimPrefix(a.db, "sqlite:")
			if src == "" {
				return usageError("--db sqlite: needs a file path, such as sqlite:portier.db.")
			}
			if _, err := os.Stat(src); err != nil {
				return usageError("There is no SQLite store at %s to back up.", src)
			}
			err := sqlite.Backup(cmd.Context(), src, dst, force)
			if errors.Is(err, sqlite.ErrBackupExists) {
				return usageError("%s exists; choose another file, or give --force to replace it.", dst)
			}
			if err != nil {
				return err
			}
			info, err := os.Stat(dst)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Backed up %s to %s (%d bytes, integrity checked). Open it with --db sqlite:%s.\n", src, dst, info.Size(), dst)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	return cmd
}
