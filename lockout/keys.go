package lockout

import "net/netip"

// Counter names one counter in the store: the key it is filed under and a bucket within the
// key ("" for the key's own counter). Deleting a key's counters deletes all its buckets, which
// is why a user's browsers are buckets of the user's key.
type Counter struct {
	Key    string
	Bucket string
}

// Account is the account-wide counter of a user: every attempt that is not from a familiar
// browser counts on it, and its lock is the account's lock.
func Account(userID string) Counter { return Counter{Key: userID} }

// Device is the counter of one familiar browser of a user (one that signed in to the account
// before), so that a stranger guessing elsewhere does not lock the owner out at it.
func Device(userID, deviceID string) Counter { return Counter{Key: userID, Bucket: deviceID} }

// UnknownName is the counter of a user name that names no user (name in its normal form): it
// locks as an account would, so that the answers do not tell who exists.
func UnknownName(name string) Counter { return Counter{Key: UnknownPrefix + name} }

// UnknownPrefix and SourcePrefix start the keys of the counters of unknown names and of
// source addresses, which the store prunes by rules of their own.
const (
	UnknownPrefix = "unknown:"
	SourcePrefix  = "source:"
)

// Source is the counter of a source address: the IPv4 address, or the IPv6 /64, since one
// host commonly holds a whole /64.
func Source(addr netip.Addr) Counter {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return Counter{Key: SourcePrefix + p.String()}
	}
	return Counter{Key: SourcePrefix + addr.String()}
}
