package uplink

import (
	"context"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Remote queries arrive on the agent's cmd/req topic. paho's goroutine only
// copies the payload into a bounded queue; a fixed pool of workers decodes
// it strictly, asks the CommandHandler and publishes the reply on cmd/res.
// Checking the hub's signature and running operations belong to the
// handler; this file is the plumbing.

// onCommand runs on paho's goroutine: it must not block.
func (u *Uplink) onCommand(payload []byte) {
	select {
	case u.cmds <- cmdDelivery{payload: append([]byte(nil), payload...)}:
	default:
		u.cmdDropped.Add(1)
		u.log.Warn("remote query dropped: every worker is busy", "queued", len(u.cmds))
	}
}

func (u *Uplink) commandWorker(ctx context.Context) {
	for {
		select {
		case d := <-u.cmds:
			if res := u.runCommand(ctx, d.payload); res != nil {
				u.reply(ctx, res)
			}
		case <-ctx.Done():
			return
		}
	}
}

// runCommand decodes and runs one request; nil means there is nobody to
// answer (the payload was not a request at all).
func (u *Uplink) runCommand(ctx context.Context, payload []byte) *wire.CommandResponse {
	req, err := wire.Decode[wire.CommandRequest](payload)
	if err != nil {
		u.log.Warn("remote query rejected: not a valid request", "err", err)
		return nil
	}
	start := time.Now()
	fail := func(code, msg string) *wire.CommandResponse {
		return &wire.CommandResponse{ID: req.ID, Device: req.Device, Op: req.Op, Code: code, Error: msg}
	}
	u.mu.Lock()
	h := u.handler
	u.mu.Unlock()
	var res *wire.CommandResponse
	switch {
	case req.AgentID != u.id:
		// The broker's ACL and the topic should make this impossible; the
		// handler checks it too. A request for another agent is never run.
		res = fail("denied", "the request is for agent "+req.AgentID.String()+", this is "+u.id.String())
	case !req.Expires.After(start):
		res = fail("expired", "the request expired at "+req.Expires.UTC().Format(time.RFC3339))
		if a, ok := h.(CommandAuditor); ok {
			a.Refused(req, res)
		}
	case h == nil:
		res = fail("denied", "remote queries are not enabled on this agent")
	default:
		deadline := min(req.Expires.Sub(start), u.opt.CommandTimeout)
		cctx, cancel := context.WithTimeout(ctx, deadline)
		res = h.HandleCommand(cctx, req)
		cancel()
		if res == nil {
			res = fail("timeout", "the agent gave no answer")
		}
	}
	if res.ID == "" {
		res.ID = req.ID
	}
	if res.Device == "" {
		res.Device = req.Device
	}
	if res.Op == "" {
		res.Op = req.Op
	}
	if !res.OK && res.Error == "" {
		res.Error = "failed"
	}
	res.Took = float64(time.Since(start).Microseconds()) / 1000
	u.log.Info("remote query", "id", req.ID, "requester", req.Requester, "device", req.Device, "op", req.Op, "ok", res.OK, "code", res.Code)
	return res
}

// reply publishes a response on the current connection. Replies are not
// buffered: the hub stops waiting after the request's expiry anyway.
func (u *Uplink) reply(ctx context.Context, res *wire.CommandResponse) {
	res.Header = wire.Header{AgentID: u.id, Boot: u.boot, Time: time.Now().UTC()}
	payload, err := wire.Encode(res)
	if err != nil {
		u.log.Error("cannot encode a remote query answer", "id", res.ID, "err", err)
		return
	}
	u.mu.Lock()
	s := u.sess
	u.mu.Unlock()
	if s == nil {
		u.log.Warn("remote query answer dropped: not connected", "id", res.ID)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, u.opt.PublishTimeout)
	defer cancel()
	if err := s.Publish(u.id.Topic(wire.ChannelCmdRes), false, payload).Wait(wctx); err != nil {
		u.log.Warn("remote query answer not acknowledged", "id", res.ID, "err", err)
	}
}
