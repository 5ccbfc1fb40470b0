package nci

import (
	"context"
	"fmt"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/scale"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// DefaultMode is 9600 7E1, the most common NCI setting (SCP-02 fixes 7 data
// bits). NCI 6712 scales default to 8N1 and NCR 7870 scanner-scales to 7O1:
// say so in the address.
var DefaultMode = scale.Mode7E1

const maxFrame = 64 // the longest answer is about 25 bytes

// probeCost: one exchange, W CR (2 bytes) and its answer, LF "0001.25lb"
// CR LF, up to three status bytes, CR ETX (17 bytes).
var probeCost = drivers.Cost{Exchanges: 1, Bytes: 19}

func init() {
	drivers.Register(drivers.Info{
		Name:        "nci",
		Description: "scales speaking the NCI / Weigh-Tronix ECR protocol (SCP-01, SCP-02): weight and status bytes",
		Kinds:       []string{"scale"},
		Schemes:     []string{"serial", "tcp"},
		Faults: []wire.FaultCode{
			wire.FaultScaleOverload, wire.FaultScaleUnderZero, wire.FaultScaleUnstable,
			wire.FaultScaleZeroError, wire.FaultScaleCalibration,
		},
		Options: scale.MotionOptions,
		New:     New,
	})
}

// Driver polls one NCI scale.
type Driver struct {
	scale.Base
}

// New builds the driver for one configured scale. Options: unstable_probes,
// unstable_after (see the README).
func New(spec drivers.Spec) (drivers.Prober, error) {
	// Every NCI character is 7-bit; bit 7 is parity whatever the port says.
	base, err := scale.NewBase("nci", &spec, DefaultMode, func(transport.SerialMode) bool { return true })
	if err != nil {
		return nil, err
	}
	base.Line.Carriers = StatusBytes
	base.Cost = probeCost
	base.Heard = func(b []byte) (scale.Status, bool) { return LastAnswer(b, base.Line.Mode.Parity) }
	d := &Driver{Base: base}
	if err := spec.Options.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

// Probe sends W, which answers with the weight and the status bytes (or, on
// SCP-02 scales, the status alone when there is no valid weight).
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	return d.Weigh(ctx, func(p *scale.Port) (scale.Status, error) { return ask(p, "W") })
}

// Zero sends Z, which zeroes the scale when it can (not moving, in range) and
// answers with the status. Probe never does: polling must not change the
// scale's state.
func (d *Driver) Zero(ctx context.Context) (drivers.Reading, error) {
	return d.Base.Zero(ctx, func(p *scale.Port) (scale.Status, error) { return ask(p, "Z") })
}

func ask(p *scale.Port, cmd string) (scale.Status, error) {
	st, err := exchange(p, cmd)
	if err != nil {
		return st, fmt.Errorf("%s: %w", cmd, err)
	}
	return st, nil
}

func exchange(p *scale.Port, cmd string) (scale.Status, error) {
	if err := p.Send([]byte(cmd + "\r")); err != nil {
		return scale.Status{}, err
	}
	b, err := p.Framed(0x0A, []byte{0x03}, maxFrame)
	if err != nil {
		return scale.Status{}, err
	}
	a, err := ParseAnswer(b)
	if err != nil {
		return scale.Status{}, err
	}
	return Status(a)
}
