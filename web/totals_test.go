package web

import (
	"testing"
	"time"

	"github.com/portier-id/portier"
)

func TestUserTotalsKeepOnlyLargeTotals(t *testing.T) {
	var totals userTotals
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	all := totalKey(portier.UserFilter{})
	search := totalKey(portier.UserFilter{Search: "An"})
	if search != totalKey(portier.UserFilter{Search: "an", After: "x@example.org", Limit: 50}) || search == all {
		t.Fatal("the key depends on the page or on the case of the search, or a search shares the key of all users")
	}
	totals.put(all, totalsExactFrom, now, false)
	totals.put(search, searchCountCap, now, true)
	if c := totals.m[all]; c == nil || c.n != totalsExactFrom {
		t.Fatal("a large total is not kept")
	}
	if _, ok := totals.m[search]; ok {
		t.Fatal("a small total is kept: it must be counted on every view")
	}
	totals.put(all, 12, now, false)
	if _, ok := totals.m[all]; ok {
		t.Fatal("a total that became small is still kept")
	}
	for i := range totalsMax + 10 {
		totals.put(totalKey(portier.UserFilter{Search: string(rune('a' + i))}), totalsExactFrom, now, true)
	}
	// A search's total past the cap of its first count is kept: the next view shows it exact.
	totals.put(search, searchCountCap+1, now, true)
	if c := totals.m[search]; c == nil || c.n != searchCountCap+1 {
		t.Fatal("a search's total past the count cap is not kept")
	}
	if len(totals.m) > totalsMax {
		t.Fatalf("%d totals kept, want at most %d", len(totals.m), totalsMax)
	}
}
