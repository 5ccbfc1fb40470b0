//go:build windows

package enrol

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"
)

// The secret's DACL is protected and names SYSTEM and Administrators only.
func TestSecretACL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker-password")
	if err := WriteSecret(path, []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.String(); got != SecretSDDL {
		t.Fatalf("security descriptor %s, want %s", got, SecretSDDL)
	}
}
