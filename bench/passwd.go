package bench

import "github.com/storewatch/storewatch/hub/broker"

// benchIterations is the PBKDF2 iteration count of the simulated agents'
// password hash (storehub passwd uses 20,000).
const benchIterations = 1000

func hashPassword(pw string) (string, error) { return broker.HashPassword(pw, benchIterations) }
