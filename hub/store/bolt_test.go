package store_test

import (
	"path/filepath"
	"testing"

	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/storetest"
)

// The bbolt store passes the suite every store passes.
func TestBolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		path := filepath.Join(t.TempDir(), "hub.db")
		return func(t *testing.T) store.Backend {
			st, err := store.OpenBolt(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
	})
}
