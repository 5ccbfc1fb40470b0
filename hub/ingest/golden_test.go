package ingest

import (
	"os"
	"path/filepath"
)

func readGolden(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "..", "wire", "testdata", name))
}
