package enrol

import "github.com/storewatch/storewatch/internal/atomicfile"

// WriteSecret writes data to path so that only the agent's service (and
// administrators) can read it, replacing the file in one step.
func WriteSecret(path string, data []byte) error {
	if err := atomicfile.Write(path, data, restrict); err != nil {
		return err
	}
	return restrictPath(path)
}
