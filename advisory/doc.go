// Package advisory replays the published advisories of the identity-provider field
// (Keycloak, Zitadel, authentik and the like) as regression tests against Portier: each test
// is named after the advisory whose mechanism it replays, says in one line what that
// mechanism is, and attacks a whole Portier server through its real HTTP surface (a real
// listener, a browser with a cookie jar, CSRF tokens scraped from the pages), on a SQLite
// file and on a PostgreSQL schema.
//
// When a new advisory in this field is published, its mechanism gets a test here, whether or
// not Portier turns out to be affected.
package advisory
