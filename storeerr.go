package portier

import "strings"

// The errors a store returns for a missing or taken row, built here so that every backend
// says the same words (the storetest suite checks that they do).

// FoldUPN is the form in which stores compare user principal names: lower case, as
// NormalizeUPN leaves them, so UserByUPN finds a user whatever the case of the name asked
// for, on every backend alike.
func FoldUPN(upn string) string { return strings.ToLower(upn) }

// NoUserWithID is the ENotFound error of a user id that names no user.
func NoUserWithID(id string) *Error { return Errorf(ENotFound, "No user has the id %s.", id) }

// NoUserNamed is the ENotFound error of a user principal name that names no user.
func NoUserNamed(upn string) *Error { return Errorf(ENotFound, "No user is named %s.", upn) }

// UPNTaken is the EConflict error of a user principal name that another user has.
func UPNTaken(upn string) *Error { return Errorf(EConflict, "The user name %s is taken.", upn) }

// NoSession is the ENotFound error of a session that has ended or never was.
func NoSession() *Error { return Errorf(ENotFound, "The session has ended.") }

// NoMethod is the ENotFound error of a security-info method the user does not have.
func NoMethod(id string) *Error {
	return Errorf(ENotFound, "The user has no security-info method %s.", id)
}

// MethodExists is the EConflict error of a security-info method id that is taken.
func MethodExists(id string) *Error {
	return Errorf(EConflict, "A security-info method with the id %s exists.", id)
}

// NoToken is the ENotFound error of a token of the kind that does not exist.
func NoToken(kind string) *Error { return Errorf(ENotFound, "There is no such %s token.", kind) }

// TokenExists is the EConflict error of a token whose kind and id are taken.
func TokenExists(kind string) *Error {
	return Errorf(EConflict, "A %s token with the same id exists.", kind)
}

// NoApp is the ENotFound error of a client id that names no application.
func NoApp(id string) *Error { return Errorf(ENotFound, "No application has the client id %s.", id) }

// AppExists is the EConflict error of a client id that is taken.
func AppExists(id string) *Error {
	return Errorf(EConflict, "An application with the client id %s exists.", id)
}

// SigningKeyExists is the EConflict error of a signing key id that is taken.
func SigningKeyExists(id string) *Error {
	return Errorf(EConflict, "A signing key with the id %s exists.", id)
}

// RepeatedUPN returns the EConflict error of the first user principal name that users
// holds twice (compared by FoldUPN), nil if each is there once: a batch insert checks it
// first, so a batch that clashes with itself is told so in the same words on every backend.
func RepeatedUPN(users []*User) *Error {
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		key := FoldUPN(u.UPN)
		if seen[key] {
			return Errorf(EConflict, "The user name %s appears twice.", u.UPN)
		}
		seen[key] = true
	}
	return nil
}

// NoPasskey is the ENotFound error of a passkey that does not exist or is not the user's.
func NoPasskey() *Error { return Errorf(ENotFound, "There is no such passkey.") }

// PasskeyExists is the EConflict error of a credential id that is registered already.
func PasskeyExists() *Error { return Errorf(EConflict, "This passkey is registered already.") }
