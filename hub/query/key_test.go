package query

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSigningKeyIsCreatedOnceAndKeptPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "signing_key.pem")
	k, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", st.Mode().Perm())
	}
	again, created, err := LoadOrCreateKey(path)
	if err != nil || created || again.PublicKey() != k.PublicKey() {
		t.Fatalf("second start: created %v, same key %v, %v", created, again != nil && again.PublicKey() == k.PublicKey(), err)
	}
	// The public key is what the agent configuration takes, and it
	// verifies what the key signs.
	pub, err := base64.StdEncoding.DecodeString(k.PublicKey())
	if err != nil || len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, []byte("x"), k.Sign([]byte("x"))) {
		t.Errorf("public key %q does not verify the key's signatures", k.PublicKey())
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("a world-readable key was accepted: %v", err)
		}
	}
}

// A key made by `openssl genpkey -algorithm ed25519` (RFC 8410's example
// key) loads, and gives RFC 8410's public key.
func TestOpenSSLKeyLoads(t *testing.T) {
	const pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n"
	k, err := ParseKey([]byte(pem))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.PublicKey(), "Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="; got != want {
		t.Errorf("public key %s, want %s", got, want)
	}
}

func TestBadKeys(t *testing.T) {
	for _, bad := range []string{"", "not pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"} {
		if _, err := ParseKey([]byte(bad)); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	if _, err := KeyFromSeed("c2hvcnQ="); err == nil {
		t.Error("a short seed was accepted")
	}
	seed := base64.StdEncoding.EncodeToString(make([]byte, 32))
	if k, err := KeyFromSeed(seed); err != nil || k.PublicKey() == "" {
		t.Errorf("seed: %v", err)
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := ParseKey(data); err == nil && k.PublicKey() == "" {
			t.Fatal("a key without a public key")
		}
	})
}
