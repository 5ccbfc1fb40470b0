package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
)

// Connector sends each call as a plain-text mail: the channel every helpdesk
// ingests. The opening mail's Message-ID is derived from the ticket's
// external id (<sw-...@domain>), so it is the same on every retry; later
// mails carry In-Reply-To and References pointing at it, which is how
// helpdesks (Zammad, OTRS, Jira, Freshdesk, plain mail clients) thread them
// into one ticket. Mail has no way to look before sending: a crash between
// the server's acceptance and the outbox's bookkeeping sends that mail
// again, with the same Message-ID, which many helpdesks drop as a repeat.
type Connector struct {
	cfg  Config
	tls  *tls.Config
	now  func() time.Time
	host string
}

// New builds the connector from validated settings.
func New(cfg Config) (*Connector, error) {
	host, _, err := net.SplitHostPort(cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("email server: %w", err)
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("email ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("email ca_file %s: no PEM certificates", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return &Connector{cfg: cfg, tls: tc, now: time.Now, host: host}, nil
}

// threadID is the Message-ID of a ticket's opening mail.
func (e *Connector) threadID(externalID string) string {
	return "<" + externalID + "@" + e.cfg.Domain + ">"
}

// Open sends the opening mail; the ticket id is its Message-ID.
func (e *Connector) Open(ctx context.Context, c helpdesk.Call) (helpdesk.Ticket, error) {
	id := e.threadID(c.ExternalID)
	if err := e.send(ctx, c, id, ""); err != nil {
		return helpdesk.Ticket{}, err
	}
	return helpdesk.Ticket{ID: id}, nil
}

// Post sends a follow-up in the ticket's thread.
func (e *Connector) Post(ctx context.Context, t helpdesk.Ticket, c helpdesk.Call) error {
	return e.send(ctx, c, "<"+c.ID+"@"+e.cfg.Domain+">", e.threadID(c.ExternalID))
}

// State is unknown: a mailbox cannot be asked.
func (e *Connector) State(context.Context, helpdesk.Ticket) (helpdesk.State, error) {
	return helpdesk.StateUnknown, nil
}

func (e *Connector) recipients(d helpdesk.Destination) []string {
	if d.Project != "" {
		return []string{d.Project}
	}
	return e.cfg.To
}

// message builds the mail. Subjects carry the external id in brackets for
// helpdesks that thread by subject.
func (e *Connector) message(c helpdesk.Call, messageID, thread string) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", e.cfg.From)
	h("To", strings.Join(e.recipients(c.Route), ", "))
	subject := "[" + c.ExternalID + "] " + c.Text.Title
	if thread != "" {
		subject = "Re: " + subject
	}
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", e.now().Format(time.RFC1123Z))
	h("Message-ID", messageID)
	if thread != "" {
		h("In-Reply-To", thread)
		h("References", thread)
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	if c.Text.Language != "" {
		h("Content-Language", c.Text.Language)
	}
	h("Auto-Submitted", "auto-generated")
	h("X-Storewatch-Incident", c.Incident.Key)
	h("X-Storewatch-Event", string(c.Kind))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(c.Text.Body, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

func (e *Connector) send(ctx context.Context, c helpdesk.Call, messageID, thread string) error {
	from, err := mail.ParseAddress(e.cfg.From)
	if err != nil {
		return helpdesk.Permanent(err)
	}
	msg := e.message(c, messageID, thread)
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	conn, err := e.dial(ctx)
	if err != nil {
		return fmt.Errorf("email: %s: %w", e.cfg.Server, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	cl, err := smtp.NewClient(conn, e.host)
	if err != nil {
		conn.Close()
		return smtpError("greeting", err)
	}
	defer cl.Close()
	if err := cl.Hello(e.cfg.Domain); err != nil {
		return smtpError("EHLO", err)
	}
	if e.cfg.TLS == "starttls" {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return helpdesk.Permanent(fmt.Errorf("email: %s does not offer STARTTLS; refusing to send in clear text", e.cfg.Server))
		}
		if err := cl.StartTLS(e.tls); err != nil {
			return smtpError("STARTTLS", err)
		}
	}
	if e.cfg.Username != "" {
		if ok, _ := cl.Extension("AUTH"); !ok {
			return helpdesk.Permanent(fmt.Errorf("email: %s does not offer AUTH", e.cfg.Server))
		}
		if err := cl.Auth(smtp.PlainAuth("", e.cfg.Username, e.cfg.Password, e.host)); err != nil {
			return smtpError("AUTH", err)
		}
	}
	if err := cl.Mail(from.Address); err != nil {
		return smtpError("MAIL FROM", err)
	}
	for _, to := range e.recipients(c.Route) {
		a, err := mail.ParseAddress(to)
		if err != nil {
			return helpdesk.Permanent(err)
		}
		if err := cl.Rcpt(a.Address); err != nil {
			return smtpError("RCPT TO", err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("end of DATA", err)
	}
	_ = cl.Quit()
	return nil
}

func (e *Connector) dial(ctx context.Context) (net.Conn, error) {
	if e.cfg.TLS == "tls" {
		d := &tls.Dialer{Config: e.tls}
		return d.DialContext(ctx, "tcp", e.cfg.Server)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", e.cfg.Server)
}

// smtpError makes a server's 5xx reply permanent; 4xx replies and broken
// connections are retried.
func smtpError(step string, err error) error {
	err = fmt.Errorf("email: %s: %w", step, err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return helpdesk.Permanent(err)
	}
	return err
}
