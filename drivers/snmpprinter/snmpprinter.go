package snmpprinter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// Defaults.
const (
	DefaultTimeout       = 4 * time.Second
	DefaultLowPercent    = 5 // CUPS flags supplies at or below 5 % as low
	DefaultIdentifyEvery = 60
)

func init() {
	drivers.Register(drivers.Info{
		Name:        "snmpprinter",
		Description: "network printers over SNMP: HOST-RESOURCES printer status and error bits, Printer-MIB supplies and cover",
		Kinds:       []string{"network_printer", "label_printer", "receipt_printer"},
		Schemes:     []string{"snmp"},
		Faults: []wire.FaultCode{
			wire.FaultPaperLow, wire.FaultPaperOut, wire.FaultPaperJam, wire.FaultCoverOpen, wire.FaultOffline,
			wire.FaultConsumableLow, wire.FaultConsumableOut, wire.FaultRibbonLow, wire.FaultRibbonOut,
			wire.FaultMaintenanceDue, wire.FaultUnknownDevice,
		},
		Options: []drivers.Option{
			{Name: "device_index", Type: drivers.OptionInt, Default: "0", Doc: "the printer's hrDeviceIndex (skips the lookup; 0: look it up)"},
			{Name: "low_percent", Type: drivers.OptionNumber, Default: "5", Doc: "a supply at or below this percentage is low"},
			{Name: "identify_every", Type: drivers.OptionInt, Default: "60", Doc: "read identity again every N probes"},
			{Name: "retries", Type: drivers.OptionInt, Default: "1", Doc: "SNMP retries within the probe's timeout"},
			{Name: "warmup_limit", Type: drivers.OptionDuration, Default: "5m", Doc: "how long warming up is normal; longer is offline"},
			{Name: "version", Type: drivers.OptionString, Default: "2c", Values: []string{"1", "2c", "3"}, Doc: "SNMP version, as the address parameter"},
			{Name: "community", Type: drivers.OptionString, Default: "public", Secret: true, Doc: "v1/v2c community, instead of the address parameter"},
			{Name: "user", Type: drivers.OptionString, Doc: "v3 user, as the address parameter"},
			{Name: "level", Type: drivers.OptionString, Doc: "v3 security level (noAuthNoPriv, authNoPriv, authPriv), as the address parameter"},
			{Name: "auth", Type: drivers.OptionString, Default: "SHA", Doc: "v3 authentication protocol (MD5, SHA, SHA256, ...), as the address parameter"},
			{Name: "auth_pass", Type: drivers.OptionString, Secret: true, Doc: "v3 authentication passphrase, instead of the address parameter"},
			{Name: "priv", Type: drivers.OptionString, Default: "AES", Doc: "v3 privacy protocol (DES, AES, ...), as the address parameter"},
			{Name: "priv_pass", Type: drivers.OptionString, Secret: true, Doc: "v3 privacy passphrase, instead of the address parameter"},
		},
		New: func(s drivers.Spec) (drivers.Prober, error) { return New(s) },
	})
}

// Driver polls one printer's SNMP agent.
type Driver struct {
	addr       string
	timeout    time.Duration
	lowPercent float64
	ident      drivers.IdentitySchedule
	warm       warmup
	cost       drivers.Cost
	dial       func(ctx context.Context) (client, error)

	mu    sync.Mutex
	index int // hrDeviceIndex of the printer; 0 until found
}

// New builds a driver. The address is snmp://host[:port]?version=2c&community=...
// or ?version=3&user=...&auth=SHA&auth_pass=...&priv=AES&priv_pass=...
// Options:
//
//	community, auth_pass, priv_pass, user, auth, priv, level, version   override the address (keep secrets out of it)
//	device_index        hrDeviceIndex of the printer (default: found by hrDeviceType)
//	low_percent         supplies at or below this are low (default 5)
//	identify_every      read identity again every N probes (default 60; 0 = only the first time)
//	retries             SNMP retries per request (default 1)
//	warmup_limit        how long warming up is normal before it is a fault (default 5m)
func New(s drivers.Spec) (*Driver, error) {
	o := s.Options
	if s.Address.Scheme != "snmp" {
		return nil, fmt.Errorf("snmpprinter: cannot talk over %s:// (use snmp://host?version=2c)", s.Address.Scheme)
	}
	set, err := parseSettings(s.Address, &o)
	d := &Driver{
		addr:       s.Address.String(),
		timeout:    s.Timeout,
		lowPercent: o.Float("low_percent", DefaultLowPercent),
		index:      o.Int("device_index", 0),
		ident:      drivers.IdentitySchedule{Every: o.Int("identify_every", DefaultIdentifyEvery), Expected: s.Expected},
		warm:       warmup{limit: o.Duration("warmup_limit", DefaultWarmupLimit), now: time.Now},
	}
	if err != nil {
		o.Fail("%v", err)
	}
	if d.lowPercent < 0 || d.lowPercent > 100 {
		o.Fail("option low_percent: %v; want 0 to 100", d.lowPercent)
	}
	if d.warm.limit <= 0 {
		o.Fail("option warmup_limit: %v; want a duration above 0 (how long warming up is normal)", d.warm.limit)
	}
	if d.index < 0 || d.ident.Every < 0 {
		o.Fail("options device_index and identify_every: want 0 or more")
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	d.cost = probeCost(set.version)
	d.dial = func(ctx context.Context) (client, error) { return set.dial(ctx, d.timeout) }
	return d, nil
}

// probeCost is the longest probe in SNMP requests, each an exchange that
// (with its retries) may take the timeout. v2c and v3 walk with GETBULK (20
// rows a request): the hrDeviceType walk on the first probe, the status
// GET, the cover and supplies walks, the identity GET, and v3's engine
// discovery come to 6; 8 leave room for a printer with many supplies. v1
// walks row by row with GETNEXT: a supplies table of three supplies is 19
// requests, the whole probe about 25; 32 leave room. Bytes are UDP
// datagrams of typical size (no serial line is involved).
func probeCost(v gosnmp.SnmpVersion) drivers.Cost {
	if v == gosnmp.Version1 {
		return drivers.Cost{Exchanges: 32, Bytes: 4000}
	}
	return drivers.Cost{Exchanges: 8, Bytes: 2500}
}

// ProbeCost implements drivers.Costed.
func (d *Driver) ProbeCost() drivers.Cost { return d.cost }

// Probe reads device and printer status, the error bits, cover and supplies.
// Each SNMP request, its retries included, may take the timeout; the whole
// probe, drivers.ProbeTimeout.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, drivers.ProbeTimeout(d, d.timeout))
	defer cancel()
	c, err := d.dial(ctx)
	if err != nil {
		d.ident.Probed(false)
		return drivers.Reading{}, fmt.Errorf("snmpprinter %s: %w", d.addr, err)
	}
	defer c.Close()
	r, err := d.read(c)
	if err != nil {
		d.ident.Probed(false)
		return drivers.Reading{}, fmt.Errorf("snmpprinter %s: %w", d.addr, err)
	}
	d.ident.Probed(true)
	if f, bad := d.ident.Mismatch(); bad {
		r.Faults = append(r.Faults, f)
	}
	return r, nil
}

func (d *Driver) read(c client) (drivers.Reading, error) {
	idx, err := d.deviceIndex(c)
	if err != nil {
		return drivers.Reading{}, err
	}
	i := fmt.Sprint(idx)
	pdus, err := c.Get([]string{oidHrDeviceStatus + "." + i, oidHrPrinterStatus + "." + i, oidHrPrinterError + "." + i})
	if err != nil {
		return drivers.Reading{}, err
	}
	if len(pdus) != 3 {
		return drivers.Reading{}, drivers.ProtocolError("asked 3 objects, got %d", len(pdus))
	}
	devStatus, err := intValue(pdus[0])
	if err != nil {
		return drivers.Reading{}, fmt.Errorf("hrDeviceStatus: %w", notAPrinter(err))
	}
	prStatus, err := intValue(pdus[1])
	if err != nil {
		return drivers.Reading{}, fmt.Errorf("hrPrinterStatus: %w", notAPrinter(err))
	}
	raw, err := octets(pdus[2])
	if err != nil {
		return drivers.Reading{}, fmt.Errorf("hrPrinterDetectedErrorState: %w", notAPrinter(err))
	}
	es := ErrorState(raw)
	// A printer warming up reports itself offline (or down) until it is
	// ready: that is the warm-up, not a fault, for as long as warmup_limit.
	warming := prStatus == printerWarmup
	faultBits := es
	if warming {
		faultBits = es.Without(bitOffline)
	}

	r := drivers.Reading{Measurements: map[string]float64{}}
	r.Faults = faultBits.Faults()
	r.Detail = fmt.Sprintf("hrDeviceStatus %s, hrPrinterStatus %s, hrPrinterDetectedErrorState %s [%s]",
		name(deviceStatusNames, devStatus), name(printerStatusNames, prStatus), es, strings.Join(es.Names(), " "))

	covers, err := c.Walk(oidPrtCoverStatus)
	if err != nil {
		return drivers.Reading{}, fmt.Errorf("prtCoverStatus: %w", err)
	}
	for _, p := range covers {
		if missing(p) {
			continue
		}
		v, err := intValue(p)
		if err != nil {
			return drivers.Reading{}, fmt.Errorf("prtCoverStatus: %w", err)
		}
		if v == 3 || v == 5 { // coverOpen, interlockOpen
			r.Faults = merge(r.Faults, wire.NewFault(wire.FaultCoverOpen, fmt.Sprintf("prtCoverStatus %s = %d (open)", p.Name, v)))
		}
	}

	supplyPDUs, err := c.Walk(oidPrtMarkerSupplies)
	if err != nil {
		return drivers.Reading{}, fmt.Errorf("prtMarkerSuppliesTable: %w", err)
	}
	supplies, err := ParseSupplies(supplyPDUs)
	if err != nil {
		return drivers.Reading{}, err
	}
	for _, s := range supplies {
		if pct, ok := s.Remaining(); ok {
			r.Measurements["supply_percent:"+s.Name()] = pct
		}
	}
	for _, f := range SupplyFaults(supplies, d.lowPercent) {
		r.Faults = merge(r.Faults, f)
	}

	// down(5) with no bit saying why is still worth knowing, unless the
	// printer says it is warming up.
	if devStatus == 5 && len(r.Faults) == 0 && !warming {
		r.Faults = append(r.Faults, wire.NewFault(wire.FaultOffline, "hrDeviceStatus down(5) with no error bit set"))
	}
	if line, f := d.warm.observe(warming); line != "" {
		r.Detail += "; " + line
		if f != nil {
			r.Faults = merge(r.Faults, *f)
		}
	}

	if d.ident.Due() {
		if id, err := d.readIdentity(c, i); err != nil {
			r.Detail += "; identity not read: " + err.Error()
		} else {
			r.Identity = &id
		}
	}
	return r, nil
}

// merge adds f, or appends its detail to a fault with the same code.
func merge(fs []wire.Fault, f wire.Fault) []wire.Fault {
	for i := range fs {
		if fs[i].Code == f.Code {
			fs[i].Detail += "; " + f.Detail
			return fs
		}
	}
	return append(fs, f)
}

func name(names map[int]string, v int) string {
	if n, ok := names[v]; ok {
		return fmt.Sprintf("%s(%d)", n, v)
	}
	return fmt.Sprintf("%d", v)
}

// notAPrinter explains a missing HOST-RESOURCES printer object: the agent
// answers but is not (or does not describe itself as) a printer.
func notAPrinter(err error) error {
	if errors.Is(err, errMissing) {
		return drivers.ProtocolError("the agent has no HOST-RESOURCES printer entry (%v); is this a printer, and is device_index right?", err)
	}
	return err
}

// deviceIndex finds the printer's hrDeviceIndex once: the first row of
// hrDeviceTable whose type is hrDevicePrinter, else 1.
func (d *Driver) deviceIndex(c client) (int, error) {
	d.mu.Lock()
	idx := d.index
	d.mu.Unlock()
	if idx > 0 {
		return idx, nil
	}
	pdus, err := c.Walk(oidHrDeviceType)
	if err != nil {
		return 0, fmt.Errorf("hrDeviceType: %w", err)
	}
	idx = 1
	for _, p := range pdus {
		if missing(p) {
			continue
		}
		v, err := oidValue(p)
		if err != nil {
			return 0, fmt.Errorf("hrDeviceType: %w", err)
		}
		rest, ok := under(p.Name, oidHrDeviceType)
		var n int
		if _, scanErr := fmt.Sscanf(rest, "%d", &n); ok && scanErr == nil && n > 0 && v == valueHrDevicePrinter {
			idx = n
			break
		}
	}
	d.mu.Lock()
	d.index = idx
	d.mu.Unlock()
	return idx, nil
}

// Identify reads the printer's identity now.
func (d *Driver) Identify(ctx context.Context) (wire.Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, drivers.ProbeTimeout(d, d.timeout))
	defer cancel()
	c, err := d.dial(ctx)
	if err != nil {
		return wire.Identity{}, fmt.Errorf("snmpprinter %s: %w", d.addr, err)
	}
	defer c.Close()
	idx, err := d.deviceIndex(c)
	if err != nil {
		return wire.Identity{}, fmt.Errorf("snmpprinter %s: %w", d.addr, err)
	}
	id, err := d.readIdentity(c, fmt.Sprint(idx))
	if err != nil {
		return wire.Identity{}, fmt.Errorf("snmpprinter %s: %w", d.addr, err)
	}
	return id, nil
}

// readIdentity reads hrDeviceDescr (model), prtGeneralSerialNumber and
// sysDescr. Objects the agent lacks are left empty.
func (d *Driver) readIdentity(c client, i string) (wire.Identity, error) {
	pdus, err := c.Get([]string{oidHrDeviceDescr + "." + i, oidPrtSerialNumber + "." + i, oidSysDescr})
	if err != nil {
		return wire.Identity{}, err
	}
	if len(pdus) != 3 {
		return wire.Identity{}, drivers.ProtocolError("asked 3 identity objects, got %d", len(pdus))
	}
	var vals [3]string
	for k, p := range pdus {
		v, err := text(p)
		if err != nil && !errors.Is(err, errMissing) {
			return wire.Identity{}, err
		}
		vals[k] = v
	}
	id := wire.Identity{Model: vals[0], Serial: vals[1], Extra: map[string]string{}}
	if vals[2] != "" {
		id.Extra["sysdescr"] = vals[2]
	}
	d.ident.Read(id)
	return id, nil
}
