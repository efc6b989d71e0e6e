package selfservice

import (
	"bytes"
	"crypto/subtle"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// totpPeriod and totpSkew are RFC 6238's usual 30-second steps, with one step either side
// accepted for a clock that is a little off.
const (
	totpPeriod = 30
	totpSkew   = 1
)

// newTOTPKey returns a new authenticator key for the account.
func newTOTPKey(issuer, account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: totpPeriod, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
}

// totpMatch checks code against the secret at now and returns the time step it belongs to.
// A step at or before lastStep is refused, so a code is never accepted twice.
func totpMatch(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	code = normalizeCode(code)
	if len(code) != 6 {
		return 0, false
	}
	current := now.Unix() / totpPeriod
	matched := int64(0)
	for step := current - totpSkew; step <= current+totpSkew; step++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		// Every step is compared, in constant time, so the answer takes as long whichever matched.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > lastStep {
			matched = step
		}
	}
	return matched, matched != 0
}

// QRCode returns an authenticator enrollment's otpauth URL as a PNG QR code of size pixels.
func (e *Enrollment) QRCode(size int) ([]byte, error) {
	key, err := otp.NewKeyFromURL(e.URL)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
