//go:build windows

package enrol

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// SecretSDDL is the security descriptor of secret files: full control for
// SYSTEM (the service's account) and the Administrators group, nobody
// else, nothing inherited from the folder.
const SecretSDDL = "D:P(A;;FA;;;SY)(A;;FA;;;BA)"

// restrict protects the new file before anything is written to it.
func restrict(f *os.File) error { return restrictPath(f.Name()) }

// restrictPath sets the protected DACL of SecretSDDL on path.
func restrictPath(path string) error {
	sd, err := windows.SecurityDescriptorFromString(SecretSDDL)
	if err != nil {
		return fmt.Errorf("secret ACL: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("secret ACL: %w", err)
	}
	err = windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("secret ACL on %s: %w", path, err)
	}
	return nil
}
