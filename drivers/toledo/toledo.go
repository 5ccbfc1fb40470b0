package toledo

import (
	"context"
	"fmt"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/scale"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// DefaultMode is 9600 7E1, the setting most 8213 scales ship with; the
// reference marks Toledo serial defaults unconfirmed, so say otherwise in
// the address when the scale's menu does.
var DefaultMode = scale.Mode7E1

const maxRecord = 16 // the longest record, H in grams, is 10 bytes

// probeCost: one exchange, W (1 byte, no CR) and its answer, STX "001.25"
// CR or the status record STX ? SS CR (8 bytes).
var probeCost = drivers.Cost{Exchanges: 1, Bytes: 9}

func init() {
	drivers.Register(drivers.Info{
		Name:        "toledo",
		Description: "scales speaking the Toledo 8213 ECR protocol: weight or status record",
		Kinds:       []string{"scale"},
		Schemes:     []string{"serial", "tcp"},
		Faults: []wire.FaultCode{
			wire.FaultScaleOverload, wire.FaultScaleUnderZero, wire.FaultScaleUnstable, wire.FaultScaleZeroError,
		},
		Options: append([]drivers.Option{
			{Name: "unit", Type: drivers.OptionString, Default: "kg", Values: []string{"kg", "lb", "oz", "g"}, Doc: "the unit the scale is set to (the answers do not say it)"},
		}, scale.MotionOptions...),
		New: New,
	})
}

// Driver polls one Toledo 8213 scale.
type Driver struct {
	scale.Base
	unit string
}

// New builds the driver for one configured scale. Options: unit (kg, lb,
// oz or g: what the scale weighs in, since the records do not say),
// unstable_probes, unstable_after.
func New(spec drivers.Spec) (drivers.Prober, error) {
	base, err := scale.NewBase("toledo", &spec, DefaultMode, func(transport.SerialMode) bool { return true })
	if err != nil {
		return nil, err
	}
	base.Cost = probeCost
	d := &Driver{Base: base}
	d.unit = spec.Options.String("unit", "kg")
	d.Heard = func(b []byte) (scale.Status, bool) { return LastRecord(b, d.unit) }
	switch d.unit {
	case "kg", "lb", "oz", "g":
	default:
		spec.Options.Fail("option unit: %q, want kg, lb, oz or g (the unit the scale is set to)", d.unit)
	}
	if err := spec.Options.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

// Probe sends W: a valid weight comes as a weight record, anything else
// (moving, below zero, overload) as the status record.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	return d.Weigh(ctx, func(p *scale.Port) (scale.Status, error) { return d.ask(p, "W") })
}

// Zero sends Z, which zeroes the scale unless it is moving, out of range or
// not showing gross weight, and always answers with the status record.
// Probe never does: polling must not change the scale's state.
func (d *Driver) Zero(ctx context.Context) (drivers.Reading, error) {
	return d.Base.Zero(ctx, func(p *scale.Port) (scale.Status, error) { return d.ask(p, "Z") })
}

func (d *Driver) ask(p *scale.Port, cmd string) (scale.Status, error) {
	st, err := d.exchange(p, cmd)
	if err != nil {
		return st, fmt.Errorf("%s: %w", cmd, err)
	}
	return st, nil
}

func (d *Driver) exchange(p *scale.Port, cmd string) (scale.Status, error) {
	if err := p.Send([]byte(cmd)); err != nil {
		return scale.Status{}, err
	}
	b, err := p.Framed(0x02, []byte{'\r'}, maxRecord)
	if err != nil {
		return scale.Status{}, err
	}
	r, err := ParseRecord(b)
	if err != nil {
		return scale.Status{}, err
	}
	return Status(r, d.unit)
}
