package email

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// smtpServer is a small SMTP server speaking RFC 5321 with STARTTLS (RFC
// 3207) and AUTH PLAIN (RFC 4954), enough for a submission client. It
// refuses AUTH and MAIL before STARTTLS, as a real submission server does.
type smtpServer struct {
	ln       net.Listener
	tls      *tls.Config
	user     string
	password string
	mu       sync.Mutex
	msgs     []*mail.Message
	auths    []string
	wg       sync.WaitGroup
}

func newSMTPServer(t *testing.T) (*smtpServer, string) {
	t.Helper()
	cert, caFile := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, tls: &tls.Config{Certificates: []tls.Certificate{cert}}, user: "hub", password: "s3cret"}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s, caFile
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { w.WriteString(line + "\r\n"); w.Flush() }
	secure, authed := false, false
	var rcpt []string
	say("220 mail.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		switch {
		case verb == "EHLO":
			w.WriteString("250-mail.test\r\n")
			if !secure {
				w.WriteString("250-STARTTLS\r\n")
			} else {
				w.WriteString("250-AUTH PLAIN\r\n")
			}
			say("250 8BITMIME")
		case verb == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
		case verb == "AUTH" && !secure:
			say("538 encryption required")
		case verb == "AUTH":
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(cmd, "AUTH PLAIN "))
			parts := strings.Split(string(raw), "\x00")
			s.mu.Lock()
			s.auths = append(s.auths, strings.Join(parts, "|"))
			s.mu.Unlock()
			if len(parts) == 3 && parts[1] == s.user && parts[2] == s.password {
				authed = true
				say("235 ok")
			} else {
				say("535 bad credentials")
			}
		case verb == "MAIL" && !authed:
			say("530 authentication required")
		case verb == "MAIL":
			rcpt = nil
			say("250 ok")
		case verb == "RCPT":
			rcpt = append(rcpt, cmd)
			say("250 ok")
		case verb == "DATA":
			say("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m, err := mail.ReadMessage(strings.NewReader(b.String()))
			if err != nil {
				say("554 bad message")
				continue
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			say("250 queued")
		case verb == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown command")
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and writes it as a CA file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}

func TestEmailThreadsFollowUps(t *testing.T) {
	srv, caFile := newSMTPServer(t)
	cfg := helpdesktest.Config(t)
	cfg.Helpdesks = []helpdesk.Helpdesk{{Name: "mail", Type: "email", Settings: &Config{
		Server: srv.ln.Addr().String(), CAFile: caFile, Username: "hub", Password: "s3cret",
		From: "storewatch <storewatch@hub.example>", To: []string{"support@helpdesk.example"},
	}}}
	cfg.Routing.Default.Helpdesk = "mail"
	o := helpdesktest.Open(t, cfg, helpdesk.Options{})
	in := helpdesktest.Incident("0042", "scale1", wire.FaultScaleOverload)
	in.Kind, in.StoreName = "scale", "Санкт-Петербург"
	flap := in
	flap.Flaps = 7
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened), helpdesktest.Note(flap, tickets.Flapping), helpdesktest.Note(in, tickets.Resolved))
	helpdesktest.Running(t, o)
	helpdesktest.Drained(t, o)
	if dead, _ := o.DeadLetters(); len(dead) > 0 {
		t.Fatalf("dead letters: %+v", dead)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.msgs) != 3 {
		t.Fatalf("%d mails, want 3", len(srv.msgs))
	}
	ext := helpdesk.ExternalID(cfg.Namespace, helpdesktest.Note(in, tickets.Opened).TicketKey())
	root := "<" + ext + "@hub.example>"
	first := srv.msgs[0].Header
	if first.Get("Message-ID") != root || first.Get("In-Reply-To") != "" {
		t.Errorf("opening mail: Message-ID %q, In-Reply-To %q", first.Get("Message-ID"), first.Get("In-Reply-To"))
	}
	dec := new(mimeDecoder)
	if subj := dec.decode(first.Get("Subject")); subj != "["+ext+"] Scale overloaded: scale at lane 2, Санкт-Петербург (0042)" {
		t.Errorf("subject %q", subj)
	}
	ids := map[string]bool{root: true}
	for _, m := range srv.msgs[1:] {
		h := m.Header
		if h.Get("In-Reply-To") != root || h.Get("References") != root {
			t.Errorf("follow-up not threaded: In-Reply-To %q References %q", h.Get("In-Reply-To"), h.Get("References"))
		}
		if ids[h.Get("Message-ID")] || !strings.HasPrefix(h.Get("Message-ID"), "<"+ext+".") {
			t.Errorf("follow-up Message-ID %q", h.Get("Message-ID"))
		}
		ids[h.Get("Message-ID")] = true
		if !strings.HasPrefix(dec.decode(h.Get("Subject")), "Re: ["+ext+"] ") {
			t.Errorf("follow-up subject %q", h.Get("Subject"))
		}
	}
	body, _ := io.ReadAll(qpReader(srv.msgs[0]))
	if !strings.Contains(string(body), "Serial number: SN-0042-scale1") || !strings.Contains(string(body), "Санкт-Петербург") {
		t.Errorf("body:\n%s", body)
	}
	if srv.auths[0] != "|hub|s3cret" {
		t.Errorf("AUTH PLAIN sent %q", srv.auths[0])
	}
}

func TestEmailRefusesServerWithoutStartTLS(t *testing.T) {
	addr := testenv.ServeTCP(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		io.WriteString(c, "220 old.test ESMTP\r\n")
		r.ReadString('\n')
		io.WriteString(c, "250-old.test\r\n250 AUTH PLAIN\r\n")
		r.ReadString('\n')
	})
	e, err := New(Config{Server: addr, TLS: "starttls", From: "a@b.example", To: []string{"c@d.example"}, Domain: "b.example", Timeout: 5 * time.Second, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Open(t.Context(), helpdesk.Call{ID: "x.1", ExternalID: "x", Kind: tickets.Opened, Incident: helpdesktest.Incident("1", "p", wire.FaultPaperOut)})
	if !helpdesk.IsPermanent(err) || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Errorf("got %v", err)
	}
}

type mimeDecoder struct{ mime.WordDecoder }

func (d *mimeDecoder) decode(s string) string {
	out, err := d.DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}

func qpReader(m *mail.Message) io.Reader {
	if m.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		return quotedprintable.NewReader(m.Body)
	}
	return m.Body
}
