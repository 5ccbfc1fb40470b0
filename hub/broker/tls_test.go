package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/wire"
)

// pki makes a CA and certificates signed by it, for one test.
type pki struct {
	t    *testing.T
	dir  string
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	n    int64
}

func newPKI(t *testing.T) *pki {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "storewatch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	p := &pki{t: t, dir: t.TempDir(), ca: ca, key: key, pool: pool, n: 1}
	p.write("ca.pem", "CERTIFICATE", der)
	return p
}

func (p *pki) write(name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// issue returns a certificate and key for cn, as files and as a tls pair.
func (p *pki) issue(cn string, server bool) (certFile, keyFile string, pair tls.Certificate) {
	p.n++
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.n), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = p.write(cn+".pem", "CERTIFICATE", der), p.write(cn+".key", "EC PRIVATE KEY", kder)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		p.t.Fatal(err)
	}
	return certFile, keyFile, pair
}

func TestAgentsMayAuthenticateWithClientCertificates(t *testing.T) {
	p := newPKI(t)
	srvCert, srvKey, _ := p.issue("hub", true)
	_, _, agentPair := p.issue("agent-s42", false)
	_, _, strangerPair := p.issue("stranger", false)
	rec := newRecorder()
	e, err := StartEmbedded(EmbeddedOptions{
		Config: EmbeddedConfig{TLSListen: "127.0.0.1:0", TLSCert: srvCert, TLSKey: srvKey, ClientCA: filepath.Join(p.dir, "ca.pem")},
		Access: NewAccess([]Agent{{Tenant: s42.Tenant, Store: s42.Store, Agent: s42.Agent, CertCN: "agent-s42"}}), Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	dialTLS := func(pair *tls.Certificate) (paho.Client, error) {
		tc := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
		if pair != nil {
			tc.Certificates = []tls.Certificate{*pair}
		}
		return brokertest.Dial(t, "tls://"+e.Addrs()[0], brokertest.Options{TLS: tc})
	}
	if _, err := dialTLS(nil); err == nil {
		t.Error("a client without certificate or password was accepted")
	}
	if _, err := dialTLS(&strangerPair); err == nil {
		t.Error("a certificate of no configured agent was accepted")
	}
	c, err := dialTLS(&agentPair)
	if err != nil {
		t.Fatalf("the agent's certificate was refused: %v", err)
	}
	if err := publish(c, s42.Topic(wire.ChannelEvents), "by-cert"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, s42.Topic(wire.ChannelEvents)+" by-cert")
}
