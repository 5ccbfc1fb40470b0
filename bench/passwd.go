package bench

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"

	"github.com/storewatch/storewatch/hub/broker"
)

// benchIterations is the PBKDF2 iteration count of the simulated agents'
// password hash (storehub passwd uses 20,000).
const benchIterations = 1000

func hashPassword(pw string) (string, error) { return broker.HashPassword(pw, benchIterations) }

// SigningKey makes a hub signing key for a run: remote.signing_key (base64
// of the Ed25519 seed) and the agents' remote.hub_public_key.
func SigningKey() (seed, public string) {
	s := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(s)
	pub := ed25519.NewKeyFromSeed(s).Public().(ed25519.PublicKey)
	return base64.StdEncoding.EncodeToString(s), base64.StdEncoding.EncodeToString(pub)
}
