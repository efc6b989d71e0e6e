package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestLoad: migrations come back in version order, and a misnamed file or a gap in the
// versions is refused, for both stores alike.
func TestLoad(t *testing.T) {
	file := func(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }
	ms, err := Load(fstest.MapFS{
		"migrations/0002_b.sql": file("B"),
		"migrations/0001_a.sql": file("A"),
	})
	if err != nil || len(ms) != 2 || ms[0].Name != "0001_a.sql" || ms[1].SQL != "B" || Latest(ms) != 2 {
		t.Fatalf("Load = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"migrations/0001_a.sql": file("A"), "migrations/0003_c.sql": file("C")},
		"twice":    {"migrations/0001_a.sql": file("A"), "migrations/0001_b.sql": file("B")},
		"misnamed": {"migrations/first.sql": file("A")},
		"zero":     {"migrations/0000_a.sql": file("A")},
		"none":     {},
	} {
		if _, err := Load(fsys); err == nil || !strings.Contains(err.Error(), "migration") {
			t.Errorf("%s: Load error %v, want one naming the migrations", name, err)
		}
	}
}
