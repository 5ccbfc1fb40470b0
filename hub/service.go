package hub

import (
	"strings"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/internal/svc"
)

// ServiceSpec describes the storehub service reading configPath. On Linux it
// runs as the unprivileged storewatch user (the agent's, where both run on
// one machine), sees no device nodes, and may write only its state
// directory, /var/lib/storehub: the default data_dir and the one the package
// configures. It listens on unprivileged ports only (MQTT 1883 and 8883, the
// API on 8080), so it needs no capability.
func ServiceSpec(configPath string) svc.Spec {
	return svc.Spec{
		Name:        "storehub",
		DisplayName: "storewatch hub",
		Description: "storewatch central service: turns store health into helpdesk tickets.",
		Args:        []string{"serve", "--config", configPath},
		User:        "storewatch",
		StateDir:    strings.TrimPrefix(config.DefaultHubDataDirUnix, "/var/lib/"),
		ConfigDir:   "storewatch",
		Devices:     false,
		StopTimeout: 10 * time.Second,
	}
}
