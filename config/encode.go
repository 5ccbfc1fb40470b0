package config

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// EncodeYAML writes a YAML document the way storewatch writes its files
// (two-space indent), comments kept: what config set, storeagent enroll
// and the agent's merge of the hub's devices write.
func EncodeYAML(doc *yaml.Node) ([]byte, error) {
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
