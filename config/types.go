package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Agent is the whole storeagent configuration.
type Agent struct {
	Tenant string `yaml:"tenant" required:"true" doc:"The retail chain (the hub's tenant); letters, digits, - _ ."`
	Store  string `yaml:"store" required:"true" doc:"The store id, unique within the tenant"`
	ID     string `yaml:"agent" required:"true" doc:"This agent's id, unique within the store (a store may run several)"`

	Site      Site      `yaml:"site" doc:"The store: name, address, time zone, trading hours"`
	Broker    Broker    `yaml:"broker" doc:"The MQTT broker the agent publishes to"`
	Outbox    Outbox    `yaml:"outbox" doc:"The on-disk buffer that holds messages until the broker has them"`
	Polling   Polling   `yaml:"polling" doc:"Defaults for how devices are polled and judged"`
	Devices   []Device  `yaml:"devices" doc:"The store's devices"`
	Host      *Host     `yaml:"host,omitempty" doc:"Checks of the store PC the agent runs on"`
	Log       AgentLog  `yaml:"log" doc:"Logging"`
	Remote    Remote    `yaml:"remote" doc:"Remote queries from the hub"`
	Telemetry Telemetry `yaml:"telemetry" doc:"Periodic samples and the heartbeat"`
	Discovery Discovery `yaml:"discovery" doc:"Looking for devices nothing monitors yet (the hub's found, not monitored): serial ports and USB devices always; the store network only where networks are given"`
}

// Discovery bounds the agent's search for devices nothing monitors. The
// network scan is off unless networks are given: scanning a store's
// network must be allowed explicitly, and it is kept small and slow, as
// the agent runs on a cashier's PC.
type Discovery struct {
	Networks    []string      `yaml:"networks" doc:"Store networks the agent may scan for devices, as CIDR such as 192.168.10.0/24 (IPv4, /22 or smaller, at most 8); empty: no network scan"`
	Ports       []int         `yaml:"ports" doc:"TCP ports tried on each address (at most 16; default 9100, 20007, 3389, 22): 9100 raw printing (then asked over SNMP, ESC/POS and ZPL who it is), 20007 ZVT payment terminals, 3389 Remote Desktop and 22 SSH (POS PCs)"`
	Rate        int           `yaml:"rate" doc:"Most connection attempts per second (1 to 200)" default:"20"`
	Timeout     time.Duration `yaml:"timeout" doc:"How long one connection attempt, or one question to a device found, may take (100ms to 5s)" default:"1s"`
	Concurrency int           `yaml:"concurrency" doc:"Connection attempts at once (1 to 16)" default:"4"`
}

// Site describes the store.
type Site struct {
	Name     string            `yaml:"name" doc:"Store name as the helpdesk knows it"`
	Address  string            `yaml:"address" doc:"Postal address, for technicians"`
	Country  string            `yaml:"country" doc:"ISO 3166-1 alpha-2 country code, e.g. DE"`
	TimeZone string            `yaml:"timezone" required:"true" doc:"IANA time zone of the store, e.g. Europe/Berlin"`
	Hours    map[string]string `yaml:"hours" doc:"Trading hours: day or day range to HH:MM-HH:MM or closed, e.g. mon-fri: 08:00-20:00; empty means always open"`
}

// Broker says how to reach MQTT.
type Broker struct {
	URLs         []string      `yaml:"urls" doc:"Broker URLs, tried in order for failover: tls://host:8883, tcp://host:1883"`
	Username     string        `yaml:"username" doc:"MQTT user name (per store); or STOREWATCH_BROKER_USERNAME"`
	Password     string        `yaml:"password" doc:"MQTT password; better given as STOREWATCH_BROKER_PASSWORD or ${ENV_NAME}" secret:"true"`
	PasswordFile string        `yaml:"password_file" doc:"File holding the MQTT password, readable by the service only; storeagent enroll writes it (relative to this file's directory)"`
	CAFile       string        `yaml:"ca_file" doc:"PEM file of the CA that signed the broker's certificate"`
	CertFile     string        `yaml:"cert_file" doc:"PEM client certificate, for brokers that authenticate agents by certificate"`
	KeyFile      string        `yaml:"key_file" doc:"PEM private key of the client certificate"`
	ServerName   string        `yaml:"server_name" doc:"Name to check in the broker's certificate, if not the URL's host"`
	KeepAlive    time.Duration `yaml:"keepalive" doc:"MQTT keepalive; the broker declares the agent offline after 1.5 times this" default:"30s"`
}

// Outbox bounds the on-disk buffer.
type Outbox struct {
	Path     string        `yaml:"path" doc:"bbolt file holding unsent messages (default /var/lib/storewatch/outbox.db, %ProgramData%\\storewatch\\outbox.db on Windows)"`
	MaxBytes ByteSize      `yaml:"max_bytes" doc:"Largest size of the outbox file, e.g. 64MiB; telemetry is dropped first when full" default:"64MiB"`
	MaxAge   time.Duration `yaml:"max_age" doc:"Messages older than this are dropped (telemetry first), e.g. 168h" default:"168h"`
	KeepSent int           `yaml:"keep_sent" doc:"Events kept after the broker acknowledged them (the newest), so that the hub can ask for them again when a broker lost some; 0 keeps none" default:"2000"`
}

// Polling holds defaults for every device.
type Polling struct {
	Interval  time.Duration `yaml:"interval" doc:"Time between two probes of a device (on average: probes due within 5 s of each other run together, a device at most half its interval early, so the agent wakes less often)" default:"30s"`
	Timeout   time.Duration `yaml:"timeout" doc:"How long a device may take to answer one request; a probe that asks several things allows this for each (the driver's README says how many)" default:"5s"`
	Debounce  int           `yaml:"debounce" doc:"Agreeing readings needed before a device changes state (1 to 10)" default:"2"`
	Grace     time.Duration `yaml:"grace" doc:"After the agent starts, faults are not reported for this long while devices come up; one still there at its end is reported then, and the hub counts its hold-down from the end" default:"2m"`
	BusyLimit time.Duration `yaml:"busy_limit" doc:"A device held by another program (the POS application) longer than this is reported once as busy_too_long; 0s: never" default:"1h"`
}

// Device is one monitored device.
type Device struct {
	ID          string            `yaml:"id" required:"true" doc:"Device id, unique in this agent, e.g. receipt-lane3"`
	Kind        string            `yaml:"kind" required:"true" doc:"Device kind" enum:"receipt_printer,label_printer,network_printer,scale,scanner,payment_terminal,pos_pc,network_device,cash_drawer,usb_device,other"`
	Driver      string            `yaml:"driver" required:"true" doc:"Protocol driver, e.g. escpos, zpl, sics, netprobe"`
	Address     string            `yaml:"address" required:"true" doc:"Where the device is: serial:///dev/ttyUSB0?baud=9600&parity=N, tcp://10.0.0.5:9100, usb://04b8:0e28, snmp://10.0.0.7"`
	Interval    time.Duration     `yaml:"interval" doc:"Time between probes (default: polling.interval)"`
	Timeout     time.Duration     `yaml:"timeout" doc:"How long the device may take to answer one request (default: polling.timeout)"`
	Debounce    int               `yaml:"debounce" doc:"Agreeing readings needed to change state (default: polling.debounce)"`
	Criticality string            `yaml:"criticality" doc:"How much the store depends on it" enum:"low,normal,high,critical" default:"normal"`
	Location    string            `yaml:"location" doc:"Where it is in the store, e.g. lane 3"`
	Expect      *Identity         `yaml:"expect,omitempty" doc:"The identity the device must report; a different one raises unknown_device"`
	Options     map[string]string `yaml:"options" doc:"Driver-specific settings (see the driver's README)"`
	RawAllowed  bool              `yaml:"allow_raw" doc:"Allow remote queries to send raw bytes to this device (off by default)"`
	Exclusive   bool              `yaml:"exclusive" doc:"Lock the serial port against other programs while a probe has it (TIOCEXCL and a lock file); off by default so the POS application can always open its device"`
	BusyLimit   time.Duration     `yaml:"busy_limit" doc:"How long the device may stay in use by another program before busy_too_long (default: polling.busy_limit)"`
	Tap         *Tap              `yaml:"tap,omitempty" doc:"Sit between the POS application and this serial device: the agent owns the port and offers the POS a virtual one"`
}

// Tap configures the serial tap of one device (see README, "Living beside
// the POS software").
type Tap struct {
	VirtualPort string        `yaml:"virtual_port" required:"true" doc:"The link the POS application opens instead of the real port, e.g. /dev/ttyPOS0 (on Windows: the free end of a com0com pair, e.g. COM20)"`
	IdleGap     time.Duration `yaml:"idle_gap" doc:"Quiet time on the line before the agent may ask the device anything" default:"100ms"`
	ReplyWait   time.Duration `yaml:"reply_wait" doc:"After the POS application's last byte, how long the device may take to start answering it" default:"500ms"`
}

// Identity is an expected device identity.
type Identity struct {
	Vendor   string `yaml:"vendor"`
	Model    string `yaml:"model"`
	Serial   string `yaml:"serial"`
	Firmware string `yaml:"firmware"`
}

// Host configures the checks of the store PC itself.
type Host struct {
	Interval       time.Duration `yaml:"interval" doc:"Time between host checks" default:"1m"`
	Disks          []Disk        `yaml:"disks" doc:"File systems to watch"`
	MinMemAvailPct float64       `yaml:"min_memory_available_percent" doc:"Raise memory_low below this share of available memory"`
	Processes      []string      `yaml:"processes" doc:"Programs that must be running (process names), else process_down"`
	Location       string        `yaml:"location" doc:"Where the PC is, e.g. back office" default:"store PC"`
	Criticality    string        `yaml:"criticality" enum:"low,normal,high,critical" default:"normal"`
}

// Disk is one watched file system.
type Disk struct {
	Path           string  `yaml:"path" doc:"Mount point or drive, e.g. / or C:\\"`
	MinFreePercent float64 `yaml:"min_free_percent" doc:"Raise disk_low below this share of free space"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" enum:"debug,info,warn,error" default:"info"`
	Format string `yaml:"format" enum:"text,json" default:"text"`
}

// AgentLog configures the agent's logging: Log, and a log file. The file is
// where the Windows service logs by default: it has no console, and the
// event log gets only warnings and errors.
type AgentLog struct {
	Level    string   `yaml:"level" enum:"debug,info,warn,error" default:"info"`
	Format   string   `yaml:"format" enum:"text,json" default:"text"`
	File     string   `yaml:"file" doc:"Also log to this file, as JSON lines; default: none, but storeagent.log beside the outbox (%ProgramData%\\storewatch) when running as a Windows service"`
	MaxBytes ByteSize `yaml:"max_bytes" doc:"Size at which the log file is rotated (file.1 is the newest old one)" default:"10MiB"`
	MaxFiles int      `yaml:"max_files" doc:"Old log files kept beside the log file (1 to 100)" default:"5"`
}

// Remote configures remote queries from the hub.
type Remote struct {
	HubPublicKey string `yaml:"hub_public_key" doc:"Ed25519 public key of the hub (base64); remote queries are refused without it"`
	AuditLog     string `yaml:"audit_log" doc:"File that records every remote request and its answer"`
}

// Telemetry configures samples and heartbeat.
type Telemetry struct {
	Interval time.Duration `yaml:"interval" doc:"How often measurements and the heartbeat are sent" default:"1m"`
}

// ByteSize is a size in bytes, written as 64MiB, 500MB, 1GiB or a number.
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1},
}

// ParseByteSize reads "64MiB", "500MB" or "1048576".
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a size such as 64MiB or 500MB")
	}
	return ByteSize(n * float64(mult)), nil
}

// UnmarshalYAML accepts numbers and sizes with units.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a size; write it like 64MiB or 500MB", n.Line, n.Value)}}
	}
	*b = v
	return nil
}

func (b ByteSize) String() string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", b>>10)
	}
	return fmt.Sprintf("%dB", int64(b))
}
