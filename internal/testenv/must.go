package testenv

import "testing"

// The two helpers below turn an unexpected error into a failed test, so that test code never
// discards an error with the blank identifier. They stop the test with t.Fatal, which is only
// allowed on the test's own goroutine: a goroutine a test starts reports with t.Error, or hands
// its error back to the test, instead. The internal tests of the packages testenv imports
// (password, lockout, the stores) cannot import it and check their errors in place.

// NoErr fails the test at once when err is not nil: for a step the test cannot go on without.
func NoErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// Must returns a function that yields v, or fails the test at once when err is not nil. It
// takes a call's two results as they come (Go allows f(g()) only when g's results are all of
// f's arguments), so a fixture stays one line:
//
//	u := testenv.Must(dir.User(ctx, "ada@example.org"))(t)
func Must[T any](v T, err error) func(t testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		NoErr(t, err)
		return v
	}
}
