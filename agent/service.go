package agent

import (
	"time"

	"github.com/storewatch/storewatch/internal/svc"
)

// ServiceSpec describes the storeagent service reading configPath. On Linux
// it runs as the unprivileged storewatch user, in the dialout group for serial
// ports and plugdev for USB devices.
func ServiceSpec(configPath string) svc.Spec {
	return svc.Spec{
		Name:        "storeagent",
		DisplayName: "storewatch store agent",
		Description: "Watches the store's printers, scales, scanners and payment terminals and reports faults to the helpdesk.",
		Args:        []string{"run", "--config", configPath},
		// An enrolment left by the installer (/etc/default/storeagent's
		// STOREWATCH_ENROLL_*) is carried out as root before the start.
		PreArgs:     []string{"enroll", "--pending", "--config", configPath},
		User:        "storewatch",
		Groups:      []string{"dialout", "plugdev"},
		StateDir:    "storewatch",
		ConfigDir:   "storewatch",
		Devices:     true,
		StopTimeout: 10 * time.Second,
	}
}
