package graph

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// options are a request's OData query options.
type options struct {
	filter    node
	rawFilter string
	selects   []string // as given, checked against the resource's properties by the caller
	rawSelect string
	top       int
	hasTop    bool
	skipToken string
}

// supportedOptions are the query options Portier answers; any other $option is refused.
var supportedOptions = map[string]bool{"$filter": true, "$select": true, "$top": true, "$skiptoken": true}

// parseOptions reads the query options: the names arrive as $filter or %24filter (the URL
// parser decodes both), each at most once. allowed are the options the endpoint takes.
func parseOptions(r *http.Request, allowed ...string) (*options, error) {
	o := &options{}
	q := r.URL.Query()
	for name, vals := range q {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "$") {
			continue // not an OData option: Graph ignores it too
		}
		if !supportedOptions[lower] || !contains(allowed, lower) {
			return nil, unsupported("The query option '%s' is not supported by Portier here: it answers %s.", name, strings.Join(allowed, ", "))
		}
		if len(vals) != 1 {
			return nil, badRequest("Request_BadRequest", "The query option '%s' is given %d times; give it once.", name, len(vals))
		}
		v := vals[0]
		switch lower {
		case "$filter":
			n, err := parseFilter(v)
			if err != nil {
				return nil, badRequest("Request_BadRequest", "Invalid filter clause: %s.", err)
			}
			o.filter, o.rawFilter = n, v
		case "$select":
			o.rawSelect = v
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					o.selects = append(o.selects, s)
				}
			}
			if len(o.selects) == 0 {
				return nil, badRequest("Request_BadRequest", "The $select option is empty: name the properties to return.")
			}
		case "$top":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > 999 {
				return nil, badRequest("Request_BadRequest", "Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", v)
			}
			o.top, o.hasTop = n, true
		case "$skiptoken":
			o.skipToken = v
		}
	}
	return o, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// pageSize is $top, or def.
func (o *options) pageSize(def int) int {
	if o.hasTop {
		return o.top
	}
	return def
}

// The $skiptoken is the position after the last item of a page (a UPN, or a log entry's id),
// with a MAC over it and the query it belongs to: a token that was changed, or that is moved
// to another query, is refused rather than read.

// skipMAC is the MAC of a position in a query (path, filter, select, top).
func (a *api) skipMAC(path string, o *options, pos []byte) []byte {
	m := hmac.New(sha256.New, a.Secret)
	m.Write([]byte("portier graph skiptoken\x00"))
	for _, part := range []string{path, o.rawFilter, o.rawSelect, strconv.Itoa(o.top)} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	m.Write(pos)
	return m.Sum(nil)[:16]
}

// encodeSkip returns the $skiptoken of position pos (any JSON value).
func (a *api) encodeSkip(path string, o *options, pos any) string {
	b, _ := json.Marshal(pos)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(a.skipMAC(path, o, b))
}

// decodeSkip reads o's $skiptoken into pos; false when there is none. A token whose MAC does
// not hold is bad input.
func (a *api) decodeSkip(path string, o *options, pos any) (bool, error) {
	if o.skipToken == "" {
		return false, nil
	}
	bad := badRequest("Request_BadRequest", "The $skiptoken is not valid: it was changed, or it belongs to another query. Start again from the first page.")
	body, mac, ok := strings.Cut(o.skipToken, ".")
	if !ok || len(o.skipToken) > 1024 {
		return false, bad
	}
	b, err1 := base64.RawURLEncoding.DecodeString(body)
	got, err2 := base64.RawURLEncoding.DecodeString(mac)
	if err1 != nil || err2 != nil || !hmac.Equal(got, a.skipMAC(path, o, b)) {
		return false, bad
	}
	if err := json.Unmarshal(b, pos); err != nil {
		return false, bad
	}
	return true, nil
}

// nextLink is the absolute address of the next page: the same $filter, $select and $top,
// and the $skiptoken of pos. Values are percent-encoded as the SDKs encode them ($select
// keeps its commas).
func (a *api) nextLink(path string, o *options, pos any) string {
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	var parts []string
	if o.rawFilter != "" {
		parts = append(parts, "$filter="+esc(o.rawFilter))
	}
	if o.rawSelect != "" {
		parts = append(parts, "$select="+strings.ReplaceAll(esc(o.rawSelect), "%2C", ","))
	}
	if o.hasTop {
		parts = append(parts, "$top="+strconv.Itoa(o.top))
	}
	parts = append(parts, "$skiptoken="+a.encodeSkip(path, o, pos))
	return a.base + path + "?" + strings.Join(parts, "&")
}
