package bench

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The Zabbix protocol frame (Zabbix 4.0 and later): "ZBXD", a flags byte
// (0x01 protocol, 0x02 zlib-compressed, 0x04 large packet), then the data
// length and a reserved field (the uncompressed length when compressed),
// 4 bytes each little-endian, or 8 bytes each with the large flag.
const (
	zbxFlagProtocol   = 0x01
	zbxFlagCompressed = 0x02
	zbxFlagLarge      = 0x04
	zbxMaxFrame       = 64 << 20 // far above anything this harness exchanges
)

// ReadZabbixFrame reads one frame and returns its (decompressed) data.
func ReadZabbixFrame(r io.Reader) ([]byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	if string(head[:4]) != "ZBXD" || head[4]&zbxFlagProtocol == 0 {
		return nil, fmt.Errorf("zabbix: not a Zabbix frame (% x)", head)
	}
	var size, reserved uint64
	if head[4]&zbxFlagLarge != 0 {
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("zabbix: frame header: %w", err)
		}
		size, reserved = binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])
	} else {
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("zabbix: frame header: %w", err)
		}
		size, reserved = uint64(binary.LittleEndian.Uint32(b[:4])), uint64(binary.LittleEndian.Uint32(b[4:]))
	}
	if size > zbxMaxFrame || reserved > zbxMaxFrame {
		return nil, fmt.Errorf("zabbix: frame of %d bytes (%d uncompressed) is too large", size, reserved)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("zabbix: frame data: %w", err)
	}
	if head[4]&zbxFlagCompressed == 0 {
		return data, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("zabbix: compressed frame: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(reserved)+1))
	if err != nil {
		return nil, fmt.Errorf("zabbix: compressed frame: %w", err)
	}
	if uint64(len(out)) != reserved {
		return nil, fmt.Errorf("zabbix: compressed frame holds %d bytes, header says %d", len(out), reserved)
	}
	return out, nil
}

// ZabbixFrame wraps data in an uncompressed frame.
func ZabbixFrame(data []byte) []byte {
	b := make([]byte, 13, 13+len(data))
	copy(b, "ZBXD")
	b[4] = zbxFlagProtocol
	binary.LittleEndian.PutUint32(b[5:9], uint32(len(data)))
	return append(b, data...)
}

// ZabbixServer plays the Zabbix server for one agent's active checks: it
// answers the agent's "active checks" request with Items, each at Delay,
// and counts the values the agent sends back ("agent data").
type ZabbixServer struct {
	Addr string

	ln    net.Listener
	items []zabbixItem
	wg    sync.WaitGroup

	mu       sync.Mutex
	values   map[string][]string // key → values received, in order
	requests int                 // "active checks" requests answered
	counting bool
	counted  int
}

type zabbixItem struct {
	Key         string `json:"key"`
	ItemID      int    `json:"itemid"`
	Delay       string `json:"delay"`
	LastLogSize int    `json:"lastlogsize"`
	MTime       int    `json:"mtime"`
}

// StartZabbixServer listens on a free loopback port.
func StartZabbixServer(keys []string, delay time.Duration) (*ZabbixServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	z := &ZabbixServer{Addr: ln.Addr().String(), ln: ln, values: map[string][]string{}}
	for i, k := range keys {
		z.items = append(z.items, zabbixItem{Key: k, ItemID: i + 1, Delay: fmt.Sprintf("%ds", int(delay.Seconds()))})
	}
	z.wg.Add(1)
	go z.accept()
	return z, nil
}

func (z *ZabbixServer) accept() {
	defer z.wg.Done()
	for {
		c, err := z.ln.Accept()
		if err != nil {
			return
		}
		z.wg.Add(1)
		go func() {
			defer z.wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			if err := z.serve(c); err != nil && !errors.Is(err, io.EOF) {
				_, _ = c.Write(ZabbixFrame([]byte(fmt.Sprintf(`{"response":"failed","info":%q}`, err.Error()))))
			}
		}()
	}
}

// zabbixRequest is what an agent sends: "active checks", "agent data" or
// a heartbeat.
type zabbixRequest struct {
	Request string `json:"request"`
	Host    string `json:"host"`
	Data    []struct {
		Key    string `json:"key"`    // agents before 6.0
		ItemID int    `json:"itemid"` // 6.0 and later send the item id instead
		Value  string `json:"value"`
	} `json:"data"`
}

func (z *ZabbixServer) serve(c net.Conn) error {
	data, err := ReadZabbixFrame(c)
	if err != nil {
		return err
	}
	var req zabbixRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return fmt.Errorf("zabbix: request: %w", err)
	}
	var resp any
	switch req.Request {
	case "active checks":
		z.mu.Lock()
		z.requests++
		z.mu.Unlock()
		resp = struct {
			Response string       `json:"response"`
			Data     []zabbixItem `json:"data"`
		}{"success", z.items}
	case "agent data":
		z.mu.Lock()
		for _, d := range req.Data {
			key := d.Key
			if d.ItemID > 0 && d.ItemID <= len(z.items) {
				key = z.items[d.ItemID-1].Key
			}
			z.values[key] = append(z.values[key], d.Value)
			if z.counting {
				z.counted++
			}
		}
		z.mu.Unlock()
		resp = map[string]string{"response": "success", "info": fmt.Sprintf("processed: %d; failed: 0; total: %d; seconds spent: 0.000001", len(req.Data), len(req.Data))}
	default: // heartbeats and anything newer: acknowledge
		resp = map[string]string{"response": "success"}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	_, err = c.Write(ZabbixFrame(b))
	return err
}

// Requests returns how many "active checks" requests were answered.
func (z *ZabbixServer) Requests() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.requests
}

// Values returns the values received for key so far.
func (z *ZabbixServer) Values(key string) []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]string(nil), z.values[key]...)
}

// Count starts (on) or stops counting received values; it returns the
// count so far.
func (z *ZabbixServer) Count(on bool) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	if on && !z.counting {
		z.counted = 0
	}
	z.counting = on
	return z.counted
}

// Close stops listening and waits for open exchanges.
func (z *ZabbixServer) Close() {
	z.ln.Close()
	z.wg.Wait()
}
