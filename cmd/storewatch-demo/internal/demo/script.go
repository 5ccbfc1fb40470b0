package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/devsim"
	devescpos "github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/devsim/scalesim"
	devzpl "github.com/storewatch/storewatch/devsim/zpl"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// dayEnd is when the scripted day is over (store time after opening): every
// ticket the script causes has opened and, where the story says so,
// resolved by then.
const dayEnd = 40 * time.Minute

// giveUp bounds every wait of the script for something the hub should see,
// in store time, so a broken build ends the day instead of hanging.
const giveUp = 30 * time.Minute

// script plays the store day on the emulators' fault switches. Its
// storylines run side by side, as things happen in a store; where the story
// needs the hub to have noticed something first ("the helpdesk calls the
// store"), it waits for that instead of guessing how long it takes, so a
// slow machine plays the same story.
type script struct {
	clock  dayClock
	devs   map[string]*device
	engine *incident.Engine
	out    *ticker
	power  context.Context // the devices' lifetime
	name   string          // the store's name
}

// step is one thing a storyline does or waits for.
type step func(ctx context.Context) error

// run plays the day and returns when it is over or ctx ends.
func (s *script) run(ctx context.Context) error {
	lines := [][]step{s.opening(), s.lane2Paper(), s.labelCover(), s.payment(), s.deliScale(), s.scanner()}
	errs := make([]error, len(lines))
	var wg sync.WaitGroup
	for i, line := range lines {
		wg.Go(func() {
			for _, st := range line {
				if errs[i] = st(ctx); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return s.clock.sleepUntil(ctx, dayEnd)
}

// opening switches the devices on one by one after the store opens (those
// due at opening are on already: Start switched them on before the agent).
func (s *script) opening() []step {
	steps := []step{s.say(fmt.Sprintf("%s opens: the store PC boots, storeagent starts and the devices are switched on one by one", s.name))}
	byTime := map[time.Duration][]*device{}
	for _, d := range s.devs {
		if d.spec.PowerOn > 0 {
			byTime[d.spec.PowerOn] = append(byTime[d.spec.PowerOn], d)
		}
	}
	times := make([]time.Duration, 0, len(byTime))
	for at := range byTime {
		times = append(times, at)
	}
	slices.Sort(times)
	for _, at := range times {
		devs := byTime[at]
		slices.SortFunc(devs, func(a, b *device) int { return strings.Compare(a.spec.ID, b.spec.ID) })
		var names []string
		steps = append(steps, s.at(at, ""))
		for _, d := range devs {
			steps = append(steps, func(context.Context) error { return d.powerOn(s.power) })
			names = append(names, d.spec.ID)
		}
		if at == s.devs["pos-lane3"].spec.PowerOn {
			steps = append(steps, s.say(fmt.Sprintf("lane 3's POS PC is up after installing updates: unreachable for %d minutes, "+
				"longer than the 3-minute hold-down, but inside the 10-minute power-on grace", int(at.Minutes()))))
		} else {
			steps = append(steps, s.say("switched on: "+strings.Join(names, ", ")))
		}
	}
	return append(steps, s.at(10*time.Minute, "power-on grace over: from now on a fault that outlasts its hold-down opens a ticket"))
}

// lane2Paper: the receipt roll on lane 2 runs low, then out; the ticket
// makes the helpdesk call the store, and someone loads paper.
func (s *script) lane2Paper() []step {
	p := s.devs["receipt-lane2"]
	return []step{
		s.at(12*time.Minute, "lane 2's receipt roll is nearly used up: paper_low is a warning for the staff, never a ticket"),
		s.set(p, devescpos.PaperLow, true),
		s.at(15*time.Minute, "lane 2 runs out of paper (paper_out opens a ticket after 2 minutes)"),
		s.set(p, devescpos.PaperLow, false),
		s.set(p, devescpos.PaperOut, true),
		s.waitTicket(p, wire.FaultPaperOut, "the helpdesk calls the store about %s; a colleague fetches a paper roll"),
		s.after(2*time.Minute, "new paper roll in lane 2: the ticket resolves by itself after the 2-minute hold-up"),
		s.set(p, devescpos.PaperOut, false),
	}
}

// labelCover: the deli changes labels with the cover open for a minute or
// two, less than cover_open's 5-minute hold-down.
func (s *script) labelCover() []step {
	p := s.devs["label-deli"]
	return []step{
		s.at(16*time.Minute, "the deli opens the label printer's cover to change the label roll"),
		s.set(p, devzpl.CoverOpen, true),
		s.waitDevice(p, wire.FaultCoverOpen),
		s.after(time.Minute, "label printer cover closed again: shorter than the 5-minute hold-down, so no ticket"),
		s.set(p, devzpl.CoverOpen, false),
	}
}

// payment: the payment provider's line fails for a quarter of an hour.
func (s *script) payment() []step {
	pt := s.devs["pt-lane1"]
	return []step{
		s.at(18*time.Minute, "the payment terminal on lane 1 loses its payment host (the provider's line is down)"),
		s.set(pt, "host_unreachable", true),
		s.at(32*time.Minute, "the payment provider's line is back"),
		s.set(pt, "host_unreachable", false),
	}
}

// deliScale: the scale drifts for a while (a warning with a 30-minute
// hold-down), later a crate is left on it (overload, a ticket after 5
// minutes) until the helpdesk calls.
func (s *script) deliScale() []step {
	sc := s.devs["scale-deli"]
	return []step{
		s.at(19*time.Minute, "the deli scale drifts: its weight never settles (scale_unstable, a warning)"),
		s.set(sc, scalesim.Unstable, true),
		s.waitDevice(sc, wire.FaultScaleUnstable),
		s.after(2*time.Minute, "the scale settles: a drift this short opens no ticket (its hold-down is 30 minutes)"),
		s.set(sc, scalesim.Unstable, false),
		s.at(24*time.Minute, "someone parks a crate of melons on the deli scale: overload"),
		s.set(sc, scalesim.Overload, true),
		s.waitTicket(sc, wire.FaultScaleOverload, "the helpdesk calls the deli about %s"),
		s.after(2*time.Minute, "the crate is taken off the scale"),
		s.set(sc, scalesim.Overload, false),
	}
}

// scanner: lane 1's scanner cable works loose and the scanner comes and
// goes: three short outages (each over as soon as the hub has seen it, well
// under the 3-minute hold-down) make six changes within the 30-minute
// window, and the hub opens one ticket, marked flapping.
func (s *script) scanner() []step {
	sc := s.devs["scanner-lane1"]
	steps := []step{s.at(21*time.Minute, "lane 1's scanner cable works loose: bursts of line noise instead of answers")}
	for i := range 3 {
		if i > 0 {
			steps = append(steps, s.after(time.Minute, ""))
		}
		steps = append(steps,
			s.set(sc, devsim.FaultGarbage, true),
			s.waitDevice(sc, wire.FaultNoResponse),
			s.set(sc, devsim.FaultGarbage, false),
			s.waitDevice(sc, ""))
	}
	return append(steps, s.say("the scanner cable is pushed back in; its ticket stays open and flapping until it has been quiet for 15 minutes"))
}

// say narrates at the store time it runs.
func (s *script) say(text string) step {
	return func(context.Context) error {
		s.out.narrate(time.Now(), text)
		return nil
	}
}

// at waits until offset into the day and narrates what happens then.
func (s *script) at(offset time.Duration, what string) step {
	return func(ctx context.Context) error {
		if err := s.clock.sleepUntil(ctx, offset); err != nil {
			return err
		}
		if what != "" {
			s.out.narrate(time.Now(), what)
		}
		return nil
	}
}

// after waits d of store time from when it runs, and narrates then.
func (s *script) after(d time.Duration, what string) step {
	return func(ctx context.Context) error {
		return s.at(s.clock.story(time.Now())+d, what)(ctx)
	}
}

// set switches one of a device's faults.
func (s *script) set(d *device, fault string, on bool) step {
	return func(context.Context) error { return d.set(fault, on) }
}

// waitFor polls the hub's engine until cond holds. After giveUp of store
// time it says so and lets the day go on.
func (s *script) waitFor(ctx context.Context, what string, cond func() bool) (bool, error) {
	deadline := time.Now().Add(s.clock.compress(giveUp))
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			s.out.narrate(time.Now(), fmt.Sprintf("(the hub has not seen %s after %v; the day goes on)", what, giveUp))
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
	}
	return true, nil
}

// waitDevice waits until the hub shows d with fault code, or healthy for "".
func (s *script) waitDevice(d *device, code wire.FaultCode) step {
	what := d.spec.ID + " healthy"
	if code != "" {
		what = d.spec.ID + " with " + string(code)
	}
	return func(ctx context.Context) error {
		_, err := s.waitFor(ctx, what, func() bool {
			for _, r := range s.engine.Devices() {
				if r.Tenant != tenant || r.Store != storeID || r.ID != d.spec.ID {
					continue
				}
				if code == "" {
					return r.State == wire.StateOK
				}
				return slices.ContainsFunc(r.Faults, func(f wire.Fault) bool { return f.Code == code })
			}
			return false
		})
		return err
	}
}

// waitTicket waits for a live incident of d's fault and narrates then,
// with the incident's id in place of %s.
func (s *script) waitTicket(d *device, code wire.FaultCode, then string) step {
	return func(ctx context.Context) error {
		var id string
		// The ticket's line comes first: the call is about a ticket the
		// reader has seen open.
		ok, err := s.waitFor(ctx, "a ticket for "+d.spec.ID+" "+string(code), func() bool {
			for _, inc := range s.engine.LiveIncidents() {
				if inc.Tenant == tenant && inc.Store == storeID && inc.Device == d.spec.ID && inc.Fault == code {
					id = inc.ID
					return s.out.shownOpened(id)
				}
			}
			return false
		})
		if ok {
			s.out.narrate(time.Now(), fmt.Sprintf(then, id))
		}
		return err
	}
}
