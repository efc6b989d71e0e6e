package web_test

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/web"
)

// TestWebReadsThroughServices: the web edge takes no store. No field of web.Deps would accept
// a portier.Store (it reads the sign-in log, security info and readiness through the
// directory service), and the package imports neither store backend.
func TestWebReadsThroughServices(t *testing.T) {
	store := reflect.TypeOf((*portier.Store)(nil)).Elem()
	deps := reflect.TypeOf(web.Deps{})
	for i := range deps.NumField() {
		if f := deps.Field(i); f.Type.Kind() == reflect.Interface && store.Implements(f.Type) && f.Type.NumMethod() > 0 {
			t.Errorf("web.Deps.%s (%s) takes a store", f.Name, f.Type)
		}
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/portier-id/portier/web").Output()
	if err != nil {
		t.Fatalf("go list: %v", err) // the go tool runs every test here; its absence is a failure, not a skip
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/portier-id/portier/sqlite" || pkg == "github.com/portier-id/portier/postgres" {
			t.Errorf("web imports %s", pkg)
		}
	}
}
