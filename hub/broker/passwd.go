package broker

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Password hashes use Mosquitto's "$7$" format, PBKDF2-HMAC-SHA512:
//
//	$7$<iterations>$<base64 salt>$<base64 64-byte key>
//
// One format for both brokers: a hash printed by `storehub passwd` works in a
// Mosquitto password_file and one from mosquitto_passwd works in hub.yaml. It
// needs only the standard library (crypto/pbkdf2). Agent passwords are
// machine-generated secrets, so the hash's job is to keep a leaked config from
// being a list of credentials; the iteration count is in the hash and can grow.

// DefaultIterations is what HashPassword uses: about 10 ms per check, which
// a fleet of agents reconnecting at once can afford.
const DefaultIterations = 20000

const saltLen, keyLen = 12, 64

// ErrBadHash is returned for a string that is not a $7$ hash.
var ErrBadHash = errors.New("not a $7$ PBKDF2-SHA512 hash")

// HashPassword returns the $7$ hash of password with a random salt.
func HashPassword(password string, iterations int) (string, error) {
	if iterations <= 0 {
		iterations = DefaultIterations
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha512.New, password, salt, iterations, keyLen)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$7$%d$%s$%s", iterations, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(key)), nil
}

// ParseHash splits a $7$ hash.
func ParseHash(hash string) (iterations int, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "7" {
		return 0, nil, nil, ErrBadHash
	}
	iterations, err = strconv.Atoi(parts[2])
	if err != nil || iterations < 1 || iterations > 10_000_000 {
		return 0, nil, nil, fmt.Errorf("%w: iterations %q", ErrBadHash, parts[2])
	}
	if salt, err = base64.StdEncoding.DecodeString(parts[3]); err != nil || len(salt) == 0 {
		return 0, nil, nil, fmt.Errorf("%w: salt", ErrBadHash)
	}
	if key, err = base64.StdEncoding.DecodeString(parts[4]); err != nil || len(key) == 0 {
		return 0, nil, nil, fmt.Errorf("%w: key", ErrBadHash)
	}
	return iterations, salt, key, nil
}

// VerifyPassword reports whether password matches hash, in constant time.
func VerifyPassword(hash, password string) bool {
	it, salt, key, err := ParseHash(hash)
	if err != nil {
		return false
	}
	got, err := pbkdf2.Key(sha512.New, password, salt, it, len(key))
	return err == nil && subtle.ConstantTimeCompare(got, key) == 1
}
