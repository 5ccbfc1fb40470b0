package api

import "testing"

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.10.0", "1.9.3", 1}, {"v1.4.0", "1.4.0", 0}, {"1.4.0-rc1", "1.4.0", 0}, {"1.4", "1.4.1", -1},
		{"dev", "1.0.0", -1}, {"", "", 0}, {"2.0.0", "", 1},
	} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
