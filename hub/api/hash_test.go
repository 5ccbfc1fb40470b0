package api

import (
	"crypto/sha256"
	"encoding/hex"
)

func hexSHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
