package snmpprinter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
)

// client is what the driver needs of an SNMP session. gosnmp's own Handler
// has some forty methods; unit tests fake these three instead.
type client interface {
	Get(oids []string) ([]gosnmp.SnmpPDU, error)
	Walk(root string) ([]gosnmp.SnmpPDU, error)
	Close() error
}

// session is the real client.
type session struct{ g *gosnmp.GoSNMP }

func (s session) Get(oids []string) ([]gosnmp.SnmpPDU, error) {
	p, err := s.g.Get(oids)
	if err != nil {
		return nil, classify(err)
	}
	if p.Error != gosnmp.NoError {
		return nil, fmt.Errorf("agent answered %v (index %d)", p.Error, p.ErrorIndex)
	}
	return p.Variables, nil
}

func (s session) Walk(root string) ([]gosnmp.SnmpPDU, error) {
	var (
		pdus []gosnmp.SnmpPDU
		err  error
	)
	if s.g.Version == gosnmp.Version1 {
		pdus, err = s.g.WalkAll(root)
	} else {
		pdus, err = s.g.BulkWalkAll(root)
	}
	return pdus, classify(err)
}

func (s session) Close() error {
	if s.g.Conn == nil {
		return nil
	}
	return s.g.Conn.Close()
}

// classify keeps the two failures the collector tells apart recognisable:
// nothing listening (ICMP port unreachable: unreachable) and no answer
// (no_response).
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: no SNMP agent listening: %w", transport.ErrUnreachable, err)
	case errors.Is(err, gosnmp.ErrMaxRetriesExceeded), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", os.ErrDeadlineExceeded, err)
	}
	return err
}

// settings are the SNMP session parameters from the address and options.
type settings struct {
	target    string
	port      uint16
	version   gosnmp.SnmpVersion
	community string
	user      string
	level     gosnmp.SnmpV3MsgFlags
	auth      gosnmp.SnmpV3AuthProtocol
	authPass  string
	priv      gosnmp.SnmpV3PrivProtocol
	privPass  string
	retries   int
}

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224, "SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192, "AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
}

var levels = map[string]gosnmp.SnmpV3MsgFlags{
	"noauthnopriv": gosnmp.NoAuthNoPriv, "authnopriv": gosnmp.AuthNoPriv, "authpriv": gosnmp.AuthPriv,
}

// addressParams are the query parameters an snmp:// address may carry.
var addressParams = map[string]bool{
	"version": true, "community": true, "user": true, "level": true,
	"auth": true, "auth_pass": true, "priv": true, "priv_pass": true,
}

// parseSettings reads snmp://host[:port]?version=2c&community=... or
// ?version=3&user=u&auth=SHA&auth_pass=...&priv=AES&priv_pass=...; secrets
// may instead come from the options community, auth_pass and priv_pass,
// which win over the address.
func parseSettings(a transport.Address, o *drivers.Options) (settings, error) {
	var errs []string
	for k := range a.Query {
		if !addressParams[k] {
			errs = append(errs, fmt.Sprintf("address parameter %s is not known (want version, community, user, level, auth, auth_pass, priv, priv_pass)", k))
		}
	}
	param := func(key, def string) string {
		v := a.Query.Get(key)
		if o.Has(key) {
			v = o.String(key, "")
		}
		if v == "" {
			return def
		}
		return v
	}
	s := settings{retries: o.Int("retries", 1)}
	hp := a.HostPort(161)
	host, portStr, _ := strings.Cut(hp, ":")
	if i := strings.LastIndex(hp, ":"); i >= 0 {
		host, portStr = strings.Trim(hp[:i], "[]"), hp[i+1:]
	}
	port, _ := strconv.Atoi(portStr)
	s.target, s.port = host, uint16(port)

	switch v := param("version", "2c"); v {
	case "1":
		s.version = gosnmp.Version1
	case "2c", "2":
		s.version = gosnmp.Version2c
	case "3":
		s.version = gosnmp.Version3
	default:
		errs = append(errs, fmt.Sprintf("version %q: want 1, 2c or 3", v))
	}
	// Secrets: options first, then the address. o.String marks them read
	// even when unset, so Err does not call them unknown.
	s.community = param("community", "public")
	s.authPass = param("auth_pass", "")
	s.privPass = param("priv_pass", "")
	if s.version == gosnmp.Version3 {
		s.user = param("user", "")
		if s.user == "" {
			errs = append(errs, "version 3 needs user=")
		}
		var ok bool
		authName := strings.ToUpper(param("auth", "SHA"))
		if s.auth, ok = authProtocols[authName]; !ok {
			errs = append(errs, fmt.Sprintf("auth %q: want MD5, SHA, SHA224, SHA256, SHA384 or SHA512", authName))
		}
		privName := strings.ToUpper(param("priv", "AES"))
		if s.priv, ok = privProtocols[privName]; !ok {
			errs = append(errs, fmt.Sprintf("priv %q: want DES, AES, AES192, AES256, AES192C or AES256C", privName))
		}
		def := "noAuthNoPriv"
		if s.authPass != "" {
			def = "authNoPriv"
			if s.privPass != "" {
				def = "authPriv"
			}
		}
		lv := param("level", def)
		if s.level, ok = levels[strings.ToLower(lv)]; !ok {
			errs = append(errs, fmt.Sprintf("level %q: want noAuthNoPriv, authNoPriv or authPriv", lv))
		}
		if s.level != gosnmp.NoAuthNoPriv && len(s.authPass) < 8 {
			errs = append(errs, "level "+lv+" needs auth_pass of at least 8 characters")
		}
		if s.level == gosnmp.AuthPriv && len(s.privPass) < 8 {
			errs = append(errs, "level authPriv needs priv_pass of at least 8 characters")
		}
	}
	if s.retries < 0 {
		errs = append(errs, "option retries: want 0 or more")
	}
	if len(errs) > 0 {
		return s, errors.New(strings.Join(errs, "; "))
	}
	return s, nil
}

// dial opens a session whose requests end with ctx.
func (s settings) dial(ctx context.Context, timeout time.Duration) (client, error) {
	g := &gosnmp.GoSNMP{
		Target:    s.target,
		Port:      s.port,
		Version:   s.version,
		Community: s.community,
		Retries:   s.retries,
		// gosnmp doubles the timeout on each retry: with one retry the
		// two attempts of a request together take the timeout, which
		// bounds each request (drivers.Cost); ctx bounds the probe.
		Timeout:        timeout / time.Duration(1<<(s.retries+1)-1),
		Context:        ctx,
		MaxOids:        gosnmp.MaxOids,
		MaxRepetitions: 20,
	}
	if s.version == gosnmp.Version3 {
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = s.level
		usm := &gosnmp.UsmSecurityParameters{UserName: s.user}
		if s.level != gosnmp.NoAuthNoPriv {
			usm.AuthenticationProtocol, usm.AuthenticationPassphrase = s.auth, s.authPass
		}
		if s.level == gosnmp.AuthPriv {
			usm.PrivacyProtocol, usm.PrivacyPassphrase = s.priv, s.privPass
		}
		g.SecurityParameters = usm
	}
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("%w: %w", transport.ErrUnreachable, err)
	}
	return session{g}, nil
}
