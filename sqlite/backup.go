package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// ErrBackupExists is Backup's answer when the destination exists and overwrite was not asked for.
var ErrBackupExists = errors.New("the backup file exists")

// Backup writes a consistent copy of the SQLite database at src to dst with VACUUM INTO: one
// read transaction, so the copy is the database as one commit left it, while servers and
// commands go on writing (WAL lets readers and the writer proceed together). The copy is a
// plain, compacted database file (no -wal or -shm beside it) that Open takes as it is. It is
// written to a temporary file beside dst, synced, checked with PRAGMA integrity_check and only
// then moved into place: dst never holds half a backup. An existing dst is replaced only when
// overwrite is set (ErrBackupExists otherwise). src is opened read-only: a backup never changes
// or migrates the database it copies.
func Backup(ctx context.Context, src, dst string, overwrite bool) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("sqlite: backup of %s: %w", src, unwrapPath(err))
	}
	if _, err := os.Stat(dst); err == nil && !overwrite {
		return ErrBackupExists
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.partial")
	if err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dst, unwrapPath(err))
	}
	tmpName := tmp.Name()
	tmp.Close()
	os.Remove(tmpName) // VACUUM INTO wants to create the file itself
	defer os.Remove(tmpName)

	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return fmt.Errorf("sqlite: copy %s: %w", src, err)
	}
	// The copy holds password hashes: readable by its owner only, like the store.
	if err := os.Chmod(tmpName, 0o600); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dst, unwrapPath(err))
	}
	if err := syncFile(tmpName); err != nil {
		return err
	}
	if err := CheckFile(ctx, tmpName); err != nil {
		return err
	}
	if overwrite {
		err = os.Rename(tmpName, dst)
	} else {
		// A hard link refuses an existing name, so a file that appeared meanwhile survives.
		if err = os.Link(tmpName, dst); errors.Is(err, fs.ErrExist) {
			return ErrBackupExists
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dst, unwrapPath(err))
	}
	return syncFile(filepath.Dir(dst))
}

// CheckFile runs PRAGMA integrity_check on the SQLite file at path, read-only.
func CheckFile(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil {
		return fmt.Errorf("sqlite: check %s: %w", path, err)
	}
	if result != "ok" {
		return fmt.Errorf("sqlite: %s fails its integrity check: %s", path, result)
	}
	return nil
}

// syncFile flushes a file or a folder to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", path, err)
	}
	return nil
}

// unwrapPath drops the path and operation of an *fs.PathError, which the caller names itself.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
