// Package portier holds Portier's domain: users, roles, audit events, sign-ins
// and the store contract. It imports neither SQL nor HTTP; the packages below it
// wrap those dependencies.
//
// The store contract (store.go) is cut by area: UserReader/UserWriter, LockoutReader/
// LockoutWriter, LogReader/LogWriter, SessionReader/SessionWriter, MethodReader/MethodWriter,
// TokenReader/TokenWriter, AppReader/AppWriter, KeyReader/KeyWriter, SettingReader/
// SettingWriter, CounterReader/CounterWriter, plus Transactor, Publisher, Subscriber and
// Pinger. Queries, Tx and Store embed them; each consumer declares the few it uses. The
// errors every backend returns for a missing or taken row are built in storeerr.go.
package portier

import (
	"errors"
	"fmt"
)

// Error codes. Each is mapped once, at the edge, to an HTTP status or a CLI exit.
const (
	EConflict    = "conflict"    // a unique value is taken (a user principal name)
	EInternal    = "internal"    // a bug or an unexpected failure
	EInvalid     = "invalid"     // bad input: the message says which rule failed
	ENotFound    = "not_found"   // no such user, session, application
	EForbidden   = "forbidden"   // the actor may not take this action on this target
	EUnavailable = "unavailable" // the store cannot be reached
	EBusy        = "busy"        // the server is saturated: turned away unchecked, try again shortly
)

// Error is a domain error with a code and a message fit to show a user.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("portier error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's *Error, EInternal for any other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of err's *Error, or "Internal error." for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
