package directory

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/password"
)

// ImportResult is the outcome of one row of a CSV import.
type ImportResult struct {
	// Line is the row's line number in the file, the header being line 1.
	Line int
	// UPN is the normalised user name, or the text of the column when it is not valid.
	UPN string
	// DisplayName is the display name given, or made of the first and last names.
	DisplayName string
	// OK reports that the user was created; otherwise Error says why not.
	OK    bool
	Error string
	// Password is the generated password of a created user. It exists only here: it is never
	// logged or audited, and the caller shows it once.
	Password string
}

// Limits of one import.
const (
	// MaxImportRows bounds the users of one file: a bigger directory is imported in parts.
	MaxImportRows = 10000
	// MaxImportBytes bounds the file: MaxImportRows rows of every column fit with room to spare.
	MaxImportBytes = 16 << 20
	// importBatch is how many users one transaction inserts.
	importBatch = 500
)

// importColumns maps the columns Portier reads to the header names that name them: those of
// Microsoft 365's bulk-add template ("User name", "First name", …), plus the attribute names
// of Entra's bulk-create template, whose headers read "User name [userPrincipalName] Required".
var importColumns = map[string][]string{
	"upn":     {"user name", "username", "user principal name", "userprincipalname"},
	"first":   {"first name", "given name", "givenname"},
	"last":    {"last name", "surname"},
	"display": {"display name", "displayname", "name"},
}

var (
	bracketed   = regexp.MustCompile(`\[[^\]]*\]`)
	spaces      = regexp.MustCompile(`\s+`)
	utf8BOM     = []byte{0xEF, 0xBB, 0xBF}
	versionLine = regexp.MustCompile(`(?i)^\s*"?version:`)
)

// normalizeHeader reads "User Name", " user name [userPrincipalName] Required" alike.
func normalizeHeader(h string) string {
	h = strings.ToLower(bracketed.ReplaceAllString(h, " "))
	h = strings.TrimSpace(spaces.ReplaceAllString(h, " "))
	return strings.TrimSpace(strings.TrimSuffix(h, "required"))
}

// importRow is a row on its way: read, checked, hashed, inserted.
type importRow struct {
	result *ImportResult
	user   *portier.User
}

// ImportUsers creates a user for each row of a CSV file in the columns of Microsoft 365's
// bulk-add template. Only User name is required; Display name falls back to First name and
// Last name, then to the part of the user name before the @; other columns are ignored. The
// header is matched without regard to case; a UTF-8 byte order mark, comma or semicolon
// separators and Windows-1252 text (Excel's) are all read.
//
// Each row gets a generated password and goes through CreateUser's checks (the actor's right
// to create, the user name rules, a name taken in the directory or earlier in the file); a
// bad row is explained in its result's Error and does not stop the others. Every row, created
// or not, is audited, never with its password. The results follow the file's order.
//
// Errors: EForbidden (the actor may not create users: nothing is read), EInvalid (the file
// cannot be read as CSV, has no User name column, or is too big: nothing is created). When the
// store fails midway, the results so far are returned with the error; rows marked OK exist.
func (s *Service) ImportUsers(ctx context.Context, actor portier.Actor, r io.Reader, forceChange bool) ([]ImportResult, error) {
	if !portier.Can(actor.Roles, portier.ActionCreate, nil) {
		err := refused(actor, portier.ActionCreate)
		s.auditFailure(ctx, s.event(actor, portier.ActionCreate, nil, "CSV import"), err)
		return nil, err
	}
	rows, err := s.readImport(ctx, r, forceChange)
	if err != nil {
		return nil, err
	}
	var valid []*importRow
	for _, row := range rows {
		if row.user != nil {
			valid = append(valid, row)
		}
	}
	if err := s.hashImported(ctx, valid); err != nil {
		return nil, err
	}
	results := make([]ImportResult, len(rows))
	err = s.insertImported(ctx, actor, rows)
	for i, row := range rows {
		results[i] = *row.result
	}
	return results, err
}

// readImport parses the file and checks every row against the rules and the directory.
func (s *Service) readImport(ctx context.Context, r io.Reader, forceChange bool) ([]*importRow, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the CSV file: %w", err)
	}
	if len(data) > MaxImportBytes {
		return nil, portier.Errorf(portier.EInvalid, "The file is bigger than %d MiB: import it in parts.", MaxImportBytes>>20)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		// Excel saves CSV in the Windows code page unless asked for UTF-8.
		if data, err = charmap.Windows1252.NewDecoder().Bytes(data); err != nil {
			return nil, portier.Errorf(portier.EInvalid, "The file is neither UTF-8 nor Windows-1252 text.")
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = separator(data)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true

	var cols map[string]int
	var rows []*importRow
	seen := map[string]int{}
	now := s.now()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, portier.Errorf(portier.EInvalid, "The file is not valid CSV: %v", err)
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		if cols == nil {
			if len(rec) == 1 && versionLine.MatchString(rec[0]) {
				continue // Entra's template starts with "version:v1.0"
			}
			if cols, err = headerColumns(rec); err != nil {
				return nil, err
			}
			continue
		}
		if len(rows) == MaxImportRows {
			return nil, portier.Errorf(portier.EInvalid, "The file has more than %d users: import it in parts.", MaxImportRows)
		}
		row := &importRow{result: &ImportResult{Line: line}}
		rows = append(rows, row)
		field := func(name string) string {
			if i, ok := cols[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		res := row.result
		res.UPN = field("upn")
		if res.UPN == "" {
			res.Error = "No user name: the User name column is required."
			continue
		}
		upn, err := portier.NormalizeUPN(res.UPN)
		if err != nil {
			res.Error = portier.ErrorMessage(err)
			continue
		}
		res.UPN = upn
		name := field("display")
		if name == "" {
			name = strings.TrimSpace(field("first") + " " + field("last"))
		}
		if name == "" {
			name, _, _ = strings.Cut(upn, "@")
		}
		if res.DisplayName, err = portier.ValidateDisplayName(name); err != nil {
			res.DisplayName, res.Error = name, portier.ErrorMessage(err)
			continue
		}
		if first, dup := seen[upn]; dup {
			res.Error = fmt.Sprintf("The user name %s is in the file twice: line %d has it already.", upn, first)
			continue
		}
		seen[upn] = line
		switch _, err := s.store.UserByUPN(ctx, upn); portier.ErrorCode(err) {
		case "":
			res.Error = fmt.Sprintf("A user named %s already exists.", upn)
			continue
		case portier.ENotFound:
		default:
			return nil, err
		}
		row.user = &portier.User{
			ID: portier.NewID(), UPN: upn, DisplayName: res.DisplayName, AccountEnabled: true,
			Roles: []portier.Role{}, Created: now, SessionsValidFrom: now, PasswordChanged: now,
			PasswordProfile: portier.PasswordProfile{ForceChangePasswordNextSignIn: forceChange},
		}
	}
	if cols == nil {
		return nil, portier.Errorf(portier.EInvalid, "The file is empty: it needs a header row with a User name column.")
	}
	return rows, nil
}

// separator picks the comma or the semicolon (Excel's in Dutch and other locales), whichever
// the header line holds more of outside quotes.
func separator(data []byte) rune {
	commas, semicolons, quoted := 0, 0, false
	for _, b := range data {
		switch {
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == '\n':
			if commas+semicolons > 0 {
				goto done
			}
		case b == ',':
			commas++
		case b == ';':
			semicolons++
		}
	}
done:
	if semicolons > commas {
		return ';'
	}
	return ','
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// headerColumns finds the columns Portier reads in a header row.
func headerColumns(rec []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, h := range rec {
		h = normalizeHeader(h)
		for col, names := range importColumns {
			if _, taken := cols[col]; !taken && slices.Contains(names, h) {
				cols[col] = i
			}
		}
	}
	if _, ok := cols["upn"]; !ok {
		return nil, portier.Errorf(portier.EInvalid,
			"The header row has no User name column: use the columns of the Microsoft 365 template (User name, First name, Last name, Display name, …).")
	}
	return cols, nil
}

// hashImported generates and hashes a password for every row, on as many goroutines as there
// are cores: argon2id at its default cost takes tens of milliseconds a hash, single-threaded,
// so 500 users would otherwise take over ten seconds on one core.
func (s *Service) hashImported(ctx context.Context, rows []*importRow) error {
	work := make(chan *importRow)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(rows), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for row := range work {
				pw := password.Generate()
				h, err := s.hasher.Hash(pw)
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					continue
				}
				row.user.PasswordHash, row.result.Password = h, pw
			}
		}()
	}
feed:
	for _, row := range rows {
		select {
		case work <- row:
		case <-ctx.Done():
			break feed
		case err := <-errc:
			errc <- err
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	return ctx.Err()
}

// insertImported inserts the checked rows in batches, one transaction each with the audit
// entries of its rows; the rows refused earlier are audited with the first batch.
func (s *Service) insertImported(ctx context.Context, actor portier.Actor, rows []*importRow) error {
	var refusedRows []*ImportResult
	var valid []*importRow
	for _, row := range rows {
		if row.user == nil {
			refusedRows = append(refusedRows, row.result)
		} else {
			valid = append(valid, row)
		}
	}
	for start := 0; start < len(valid) || (start == 0 && len(refusedRows) > 0); start += importBatch {
		batch := valid[start:min(start+importBatch, len(valid))]
		var failed []*ImportResult
		if start == 0 {
			failed = refusedRows
		}
		if err := s.insertBatch(ctx, actor, batch, failed); err != nil {
			for _, row := range valid[start:] {
				row.result.OK, row.result.Password = false, ""
				row.result.Error = "Not created: the import stopped when the store failed."
			}
			return err
		}
	}
	return nil
}

func (s *Service) insertBatch(ctx context.Context, actor portier.Actor, batch []*importRow, failed []*ImportResult) error {
	users := make([]*portier.User, len(batch))
	for i, row := range batch {
		users[i] = row.user
	}
	// Set inside the transaction, which may run more than once; applied when it commits.
	var conflicts map[*importRow]bool
	err := s.store.Tx(ctx, func(tx portier.Tx) error {
		conflicts = map[*importRow]bool{}
		if len(users) == 0 {
			return s.auditRefusedRows(ctx, tx, actor, failed)
		}
		err := tx.InsertUsers(ctx, users)
		if portier.ErrorCode(err) == portier.EConflict {
			// A name was taken since the check: insert one by one to tell which.
			for _, row := range batch {
				if err := tx.InsertUser(ctx, row.user); portier.ErrorCode(err) == portier.EConflict {
					conflicts[row] = true
				} else if err != nil {
					return err
				}
			}
		} else if err != nil {
			return err
		}
		for _, row := range batch {
			ev := s.event(actor, portier.ActionCreate, row.user, "")
			ev.Outcome, ev.Detail = portier.OutcomeSuccess, fmt.Sprintf("CSV import, line %d; generated password", row.result.Line)
			if conflicts[row] {
				ev.Outcome, ev.Detail = portier.OutcomeFailure, fmt.Sprintf("CSV import, line %d: the user name was taken meanwhile", row.result.Line)
				ev.TargetID = ""
			}
			if err := tx.AppendAudit(ctx, ev); err != nil {
				return err
			}
		}
		return s.auditRefusedRows(ctx, tx, actor, failed)
	})
	if err != nil {
		return err
	}
	for _, row := range batch {
		if conflicts[row] {
			row.result.Password = ""
			row.result.Error = fmt.Sprintf("A user named %s already exists.", row.user.UPN)
		} else {
			row.result.OK = true
		}
	}
	return nil
}

// auditRefusedRows writes the failure entries of the rows refused before any insert.
func (s *Service) auditRefusedRows(ctx context.Context, tx portier.Tx, actor portier.Actor, failed []*ImportResult) error {
	for _, res := range failed {
		target := res.UPN
		if len(target) > portier.MaxUPNLength {
			target = strings.ToValidUTF8(target[:portier.MaxUPNLength], "") + "…"
		}
		ev := s.event(actor, portier.ActionCreate, nil, target)
		ev.Outcome, ev.Detail = portier.OutcomeFailure, fmt.Sprintf("CSV import, line %d: %s", res.Line, res.Error)
		if err := tx.AppendAudit(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}
