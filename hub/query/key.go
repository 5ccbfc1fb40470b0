package query

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Key is the hub's signing key pair.
type Key struct {
	private ed25519.PrivateKey
}

// PublicKey returns the public key as agents want it in
// remote.hub_public_key: standard base64 of the 32 key bytes.
func (k *Key) PublicKey() string {
	return base64.StdEncoding.EncodeToString(k.private.Public().(ed25519.PublicKey))
}

// Sign signs msg.
func (k *Key) Sign(msg []byte) []byte { return ed25519.Sign(k.private, msg) }

// KeyFromSeed reads a key given as base64 of its 32-byte seed (the
// configuration's remote.signing_key).
func KeyFromSeed(b64 string) (*Key, error) {
	seed, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("remote.signing_key: not the base64 of a 32-byte Ed25519 seed")
	}
	return &Key{private: ed25519.NewKeyFromSeed(seed)}, nil
}

// LoadOrCreateKey reads the PEM (PKCS #8) private key at path, creating a new
// one with mode 0600 if there is none. A key file others may read is refused,
// as ssh does: whoever has it can query every store's devices.
// `openssl genpkey -algorithm ed25519` makes a compatible file.
func LoadOrCreateKey(path string) (*Key, bool, error) {
	k, err := LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	// O_EXCL: two hubs starting at once on one data dir must not each
	// write a key and sign with different ones.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		k, err := LoadKey(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("signing key %s: %w", path, err)
	}
	return &Key{private: priv}, true, nil
}

// LoadKey reads the PEM (PKCS #8) Ed25519 private key at path.
func LoadKey(path string) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s: mode %04o lets others read it; chmod 600 it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return k, nil
}

// ParseKey reads a PEM "PRIVATE KEY" block holding a PKCS #8 Ed25519 key.
func ParseKey(data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want an Ed25519 key", k)
	}
	return &Key{private: priv}, nil
}
