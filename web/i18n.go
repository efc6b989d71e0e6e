package web

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/password"
)

//go:embed locales/*.json
var localeFS embed.FS

// languages are the languages Portier speaks, the first being the fallback.
var languages = []language.Tag{language.English, language.Dutch}

var languageMatcher = language.NewMatcher(languages)

// newBundle loads the message catalogues.
func newBundle() *i18n.Bundle {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	// Each area keeps its own pair of catalogues: en.json and nl.json, apps.en.json and apps.nl.json, …
	names, _ := fs.Glob(localeFS, "locales/*.json")
	for _, name := range names {
		if _, err := b.LoadMessageFileFS(localeFS, name); err != nil {
			panic(fmt.Sprintf("message catalogue %s: %v", name, err)) // embedded: a broken one is a build error
		}
	}
	return b
}

// langCookie keeps the language a viewer chose with the switch.
const langCookie = "portier_lang"

// pickLanguage returns "en" or "nl": the viewer's switch, else Accept-Language, else the default.
func pickLanguage(r *http.Request, def string) string {
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "nl") {
		return c.Value
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, idx, conf := languageMatcher.Match(tags...)
			if conf != language.No {
				return languages[idx].String()
			}
		}
	}
	return def
}

// catalogue is the message bundle with a cache of the messages that take no arguments, which
// are most of them (a page names dozens), and a bounded one of messages filled in: the
// locked-account answer is a hot path, and a flood at one account asks for the same text,
// with the same time in it, thousands of times a second.
type catalogue struct {
	bundle *i18n.Bundle
	plain  sync.Map // lang + "\x00" + id -> string

	filled boundedCache[string] // lang, id and arguments -> string
}

// filledMax bounds the cache of filled-in messages, whose arguments may come from outside.
const filledMax = 1024

func newCatalogue() *catalogue { return &catalogue{bundle: newBundle()} }

// translator speaks one language to one viewer; templates call its T method.
type translator struct {
	lang string
	cat  *catalogue
	loc  *i18n.Localizer
	// tz is the viewer's time zone; nil is UTC.
	tz *time.Location
}

func newTranslator(c *catalogue, lang string) *translator {
	return &translator{lang: lang, cat: c}
}

// T returns the message id in the viewer's language, filled with key/value pairs.
func (t *translator) T(id string, kv ...any) string {
	var key string
	if len(kv) > 0 {
		key = fmt.Sprintf("%s\x00%s\x00%#v", t.lang, id, kv)
		if s, ok := t.cat.filled.get(key); ok {
			return s
		}
	} else {
		key = t.lang + "\x00" + id
		if s, ok := t.cat.plain.Load(key); ok {
			return s.(string)
		}
	}
	var data map[string]any
	if len(kv) > 0 {
		data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			data[fmt.Sprint(kv[i])] = kv[i+1]
		}
	}
	if t.loc == nil {
		t.loc = i18n.NewLocalizer(t.cat.bundle, t.lang)
	}
	// A message with a Count has plural forms ("one", "other"): 1 user, 2 users.
	var plural any
	if n, ok := data["Count"]; ok {
		plural = n
	}
	s, err := t.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: plural})
	if err != nil {
		return id
	}
	if len(kv) > 0 {
		t.cat.filled.put(key, s, filledMax)
	} else {
		t.cat.plain.Store(key, s)
	}
	return s
}

// Lang returns the viewer's language code.
func (t *translator) Lang() string { return t.lang }

// Other returns the code of the language the switch offers.
func (t *translator) Other() string {
	if t.lang == "nl" {
		return "en"
	}
	return "nl"
}

// DateTime formats a time the way the viewer's language writes it, in the viewer's time zone
// (the organisation's), with the zone named: "4 Dec 2026 02:03 CET".
func (t *translator) DateTime(tm time.Time) string {
	tm = tm.In(t.Location())
	if t.lang == "nl" {
		return tm.Format("2-1-2006 15:04 MST")
	}
	return tm.Format("2 Jan 2006 15:04 MST")
}

// Stamp is DateTime to the second, for the logs: "4 Dec 2026 02:03:41 CET".
func (t *translator) Stamp(tm time.Time) string {
	tm = tm.In(t.Location())
	if t.lang == "nl" {
		return tm.Format("2-1-2006 15:04:05 MST")
	}
	return tm.Format("2 Jan 2006 15:04:05 MST")
}

// Clock formats the time of day of tm in the viewer's time zone, named: "02:03 CET".
func (t *translator) Clock(tm time.Time) string { return tm.In(t.Location()).Format("15:04 MST") }

// ClockSeconds is Clock to the second, without the zone: for the second of two times in one sentence.
func (t *translator) ClockSeconds(tm time.Time) string { return tm.In(t.Location()).Format("15:04:05") }

// Hour is the time of day of tm without the zone: "02:03".
func (t *translator) Hour(tm time.Time) string { return tm.In(t.Location()).Format("15:04") }

// Weekday is the short name of tm's day with its date, in the viewer's language and zone: "Fri 4".
func (t *translator) Weekday(tm time.Time) string {
	tm = tm.In(t.Location())
	return t.T("weekday."+strings.ToLower(tm.Weekday().String()[:3])) + " " + strconv.Itoa(tm.Day())
}

// Abbr is the abbreviation of the viewer's time zone at tm: "CET", or "CEST" in summer.
func (t *translator) Abbr(tm time.Time) string { return tm.In(t.Location()).Format("MST") }

// Location is the viewer's time zone: the organisation's.
func (t *translator) Location() *time.Location {
	if t.tz == nil {
		return time.UTC
	}
	return t.tz
}

// Zone is the name of the viewer's time zone ("Europe/Amsterdam").
func (t *translator) Zone() string { return t.Location().String() }

// Error says what went wrong in the viewer's language: a password rule by its own message,
// anything else by the domain's message.
func (t *translator) Error(err error) string {
	var rule *password.RuleError
	if errors.As(err, &rule) {
		return t.T("password.rule."+string(rule.Rule), "Limit", rule.Limit, "Word", rule.Word)
	}
	return portier.ErrorMessage(err)
}
