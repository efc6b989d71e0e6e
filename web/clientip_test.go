package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIPBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	s := &server{Deps: Deps{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct client, header ignored", "198.51.100.7:4000", "203.0.113.9", "198.51.100.7"},
		{"trusted proxy, header believed", "10.1.2.3:4000", "203.0.113.9", "203.0.113.9"},
		{"chain of trusted proxies", "10.1.2.3:4000", "203.0.113.9, 10.9.9.9", "203.0.113.9"},
		{"forged left part is not believed", "10.1.2.3:4000", "1.2.3.4, 203.0.113.9", "203.0.113.9"},
		{"garbage header falls back to the proxy", "10.1.2.3:4000", "not-an-ip", "10.1.2.3"},
		{"IPv6 loopback proxy", "[::1]:4000", "2001:db8::5", "2001:db8::5"},
		{"IPv4-mapped peer", "[::ffff:198.51.100.7]:4000", "", "198.51.100.7"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := s.clientIP(r).String(); got != tt.want {
			t.Errorf("%s: clientIP = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestSafeReturnTo(t *testing.T) {
	for in, want := range map[string]string{
		"/myaccount": "/myaccount", "/admin/users?x=1": "/admin/users?x=1", "": "", "//evil.example": "",
		"https://evil.example": "", "/\\evil.example": "", "javascript:alert(1)": "", "/ok\r\nSet-Cookie: x": "",
	} {
		if got := safeReturnTo(in); got != want {
			t.Errorf("safeReturnTo(%q) = %q, want %q", in, got, want)
		}
	}
}
