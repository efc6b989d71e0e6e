package web

import (
	"sync"

	"github.com/medama-io/go-useragent"
)

// uaParser reads User-Agent strings; it is built once (a trie of the known agents) on first use.
var uaParser = sync.OnceValue(useragent.NewParser)

// Browser summarises a User-Agent string the way people name their browser: "Chrome on
// Windows"; the raw string is what the log keeps.
func (t *translator) Browser(ua string) string {
	if ua == "" {
		return t.T("ua.unknown")
	}
	parsed := uaParser().Parse(ua)
	browser, os := string(parsed.Browser()), string(parsed.OS())
	switch {
	case browser != "" && os != "":
		return t.T("ua.on", "Browser", browser, "OS", os)
	case browser != "":
		return browser
	case os != "":
		return t.T("ua.on", "Browser", t.T("ua.browser"), "OS", os)
	}
	return t.T("ua.unknown")
}
