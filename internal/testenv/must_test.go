package testenv

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fatalRecorder is a testing.TB that notes Fatalf instead of stopping, so the helpers'
// failure path can be looked at.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestMustAndNoErr(t *testing.T) {
	r := &fatalRecorder{TB: t}
	if v := Must(42, nil)(r); v != 42 || r.fatal != "" {
		t.Fatalf("Must(42, nil) = %d, failure %q; want 42 and no failure", v, r.fatal)
	}
	Must(0, errors.New("disk on fire"))(r)
	if !strings.Contains(r.fatal, "disk on fire") {
		t.Fatalf("Must with an error: failure %q, want the error", r.fatal)
	}
	r.fatal = ""
	if NoErr(r, nil); r.fatal != "" {
		t.Fatalf("NoErr(nil) failed the test: %q", r.fatal)
	}
	if NoErr(r, errors.New("no route")); !strings.Contains(r.fatal, "no route") {
		t.Fatalf("NoErr with an error: failure %q, want the error", r.fatal)
	}
}
