package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"io"
	"sort"
	"strings"
	"sync"
)

// blocklistGz is the list of common and breached passwords, folded (NFKC, lower case), sorted,
// one a line, gzip-compressed. gen_blocklist.go makes it; README-blocklist.md names its source
// and licence.
//
//go:embed blocklist.txt.gz
var blocklistGz []byte

// wordList is a sorted list held as one string and the offsets of its entries: one allocation
// for the text and 4 bytes an entry, against 16 bytes an entry for a []string plus a map's
// overhead.
type wordList struct {
	text   string
	starts []uint32 // entry i is text[starts[i] : starts[i+1]-1]; the last offset is len(text)
}

// len returns the number of entries.
func (l *wordList) len() int { return len(l.starts) - 1 }

// at returns entry i.
func (l *wordList) at(i int) string { return l.text[l.starts[i] : l.starts[i+1]-1] }

// contains reports whether s is an entry, by binary search.
func (l *wordList) contains(s string) bool {
	i := sort.Search(l.len(), func(i int) bool { return l.at(i) >= s })
	return i < l.len() && l.at(i) == s
}

// blocklist is loaded at the first check rather than at start-up, so commands that never
// check a password do not pay for it.
var blocklist = sync.OnceValue(func() *wordList {
	l, err := loadWordList(blocklistGz)
	if err != nil {
		// The file is part of the binary and the tests read it: this is a broken build.
		panic("password: embedded blocklist is unreadable: " + err.Error())
	}
	return l
})

// loadWordList decompresses a gzip-compressed, newline-terminated, sorted list.
func loadWordList(gz []byte) (*wordList, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	// The gzip trailer ends with the uncompressed size: grow once rather than by doubling.
	if len(gz) >= 4 {
		b.Grow(int(binary.LittleEndian.Uint32(gz[len(gz)-4:])))
	}
	if _, err := io.Copy(&b, zr); err != nil {
		return nil, err
	}
	if err := zr.Close(); err != nil {
		return nil, err
	}
	text := b.String()
	l := &wordList{text: text, starts: make([]uint32, 0, strings.Count(text, "\n")+1)}
	l.starts = append(l.starts, 0)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			l.starts = append(l.starts, uint32(i+1))
		}
	}
	if len(text) > 0 && text[len(text)-1] != '\n' {
		return nil, io.ErrUnexpectedEOF
	}
	return l, nil
}

// blocklisted reports whether the folded password f is on the blocklist. The list leaves out
// entries shorter than portier.LowestPasswordMinLength, which Check refuses as too short before asking.
func blocklisted(f string) bool { return blocklist().contains(f) }

// BlocklistSize returns the number of entries on the shipped blocklist.
func BlocklistSize() int { return blocklist().len() }
