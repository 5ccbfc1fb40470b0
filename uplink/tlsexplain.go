package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/storewatch/storewatch/config"
)

// clientCertInfo is what the agent knows about its own client certificate,
// to explain a broker's refusal.
type clientCertInfo struct {
	file     string
	notAfter time.Time
}

// loadTLS builds the TLS configuration from the broker settings. The files
// are read at every connection attempt, so a technician can fix them without
// restarting the agent.
func loadTLS(b config.Broker) (*tls.Config, clientCertInfo, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: b.ServerName}
	var info clientCertInfo
	if b.CAFile != "" {
		pem, err := os.ReadFile(b.CAFile)
		if err != nil {
			return nil, info, fmt.Errorf("cannot read the broker CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, info, fmt.Errorf("the broker CA file %s holds no PEM certificate", b.CAFile)
		}
		tc.RootCAs = pool
	}
	if b.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(b.CertFile, b.KeyFile)
		if err != nil {
			return nil, info, fmt.Errorf("cannot load the client certificate %s with key %s: %w", b.CertFile, b.KeyFile, err)
		}
		info.file = b.CertFile
		if leaf, err := x509.ParseCertificate(pair.Certificate[0]); err == nil {
			info.notAfter = leaf.NotAfter
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, info, nil
}

// explainConnect turns a connection failure into a sentence a store
// technician can act on.
func explainConnect(rawURL string, b config.Broker, cert clientCertInfo, err error) error {
	host := rawURL
	if u, perr := url.Parse(rawURL); perr == nil && u.Host != "" {
		host = u.Host
	}
	why := func(format string, args ...any) error {
		return &ConnectError{URL: rawURL, Reason: fmt.Sprintf(format, args...), Err: err}
	}
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostErr x509.HostnameError
	var alert tls.AlertError
	var recordErr tls.RecordHeaderError
	msg := err.Error()
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
		if b.Username == "" {
			return why("broker %s refused the connection: it wants a user name and password (set broker.username and broker.password)", host)
		}
		return why("broker %s refused the password for user %s", host, b.Username)
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return why("broker %s rejected the client id", host)
	case errors.Is(err, packets.ErrorRefusedServerUnavailable):
		return why("broker %s says it is unavailable", host)
	case errors.As(err, &unknownCA):
		if b.CAFile != "" {
			return why("broker %s: its certificate is not signed by the CA in %s", host, b.CAFile)
		}
		return why("broker %s: its certificate is not signed by a CA this computer trusts (set broker.ca_file)", host)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return why("broker %s: its certificate expired on %s", host, invalid.Cert.NotAfter.UTC().Format(time.DateOnly))
	case errors.As(err, &invalid):
		return why("broker %s: its certificate is not valid: %s", host, invalid.Error())
	case errors.As(err, &hostErr):
		return why("broker %s: its certificate is for %s, not %s (set broker.server_name if the name differs on purpose)",
			host, certNames(hostErr.Certificate), hostErr.Host)
	case errors.As(err, &alert) || strings.Contains(msg, "remote error: tls:"):
		return explainAlert(why, host, cert, msg)
	case errors.As(err, &recordErr) || strings.Contains(msg, "first record does not look like a TLS handshake"):
		return why("broker %s does not speak TLS on this port (use tcp:// or the TLS port)", host)
	case needsTLS(rawURL) && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || strings.Contains(msg, "EOF")):
		// With TLS 1.3 the client finishes its handshake before the broker
		// has judged the client certificate; the broker's alert then often
		// arrives as a reset of the connection. Say what we know locally.
		return explainDroppedTLS(why, host, cert)
	case errors.Is(err, syscall.ECONNREFUSED):
		return why("nothing accepts connections at %s (broker down, or wrong port)", host)
	case isDNS(err):
		return why("cannot find the broker host %s (DNS)", host)
	case isTimeout(err):
		return why("no answer from broker %s in time (network down or firewalled?)", host)
	}
	return why("cannot connect to broker %s: %v", host, err)
}

func explainAlert(why func(string, ...any) error, host string, cert clientCertInfo, msg string) error {
	expired := !cert.notAfter.IsZero() && time.Now().After(cert.notAfter)
	switch {
	case cert.file == "" && (strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") || strings.Contains(msg, "handshake failure")):
		return why("broker %s wants a client certificate (set broker.cert_file and broker.key_file)", host)
	case expired || strings.Contains(msg, "expired certificate"):
		if !cert.notAfter.IsZero() {
			return why("broker %s refused the client certificate %s: it expired on %s", host, cert.file, cert.notAfter.UTC().Format(time.DateOnly))
		}
		return why("broker %s refused the client certificate %s: it has expired", host, cert.file)
	case strings.Contains(msg, "unknown certificate authority"):
		return why("broker %s does not trust the CA that signed the client certificate %s", host, cert.file)
	case strings.Contains(msg, "bad certificate"), strings.Contains(msg, "certificate"):
		return why("broker %s refused the client certificate %s (%s)", host, cert.file, strings.TrimPrefix(msg, "remote error: tls: "))
	}
	return why("broker %s ended the TLS handshake: %s", host, msg)
}

func explainDroppedTLS(why func(string, ...any) error, host string, cert clientCertInfo) error {
	switch {
	case cert.file == "":
		return why("broker %s closed the connection after the TLS handshake: it probably wants a client certificate (set broker.cert_file and broker.key_file)", host)
	case !cert.notAfter.IsZero() && time.Now().After(cert.notAfter):
		return why("broker %s refused the client certificate %s: it expired on %s", host, cert.file, cert.notAfter.UTC().Format(time.DateOnly))
	}
	return why("broker %s closed the connection after the TLS handshake: it may not accept the client certificate %s", host, cert.file)
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "another name"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = append(names, c.Subject.CommonName)
	}
	return strings.Join(names, ", ")
}

func isDNS(err error) bool {
	var d *net.DNSError
	return errors.As(err, &d)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(err.Error(), "i/o timeout")
}

// ConnectError is a failed connection attempt, explained.
type ConnectError struct {
	URL    string
	Reason string // the sentence for the log and the local status
	Err    error  // what the library said
}

func (e *ConnectError) Error() string { return e.Reason }
func (e *ConnectError) Unwrap() error { return e.Err }
