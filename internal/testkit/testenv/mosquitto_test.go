package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// The helper's broker accepts what it is configured to accept: a TLS client
// with a certificate from its CA and the right password, and refuses a wrong
// password. mosquitto_pub is the independent client.
func TestMosquittoTLSAndPasswords(t *testing.T) {
	pub := LookPath(t, "mosquitto_pub")
	m := StartMosquitto(t, MosquittoOptions{TLS: true, RequireClientCert: true, Users: map[string]string{"acme-s0042": "secret"}})
	cert, key := m.PKI.Issue(t, "acme-s0042", CertOptions{})
	port := strings.TrimPrefix(m.TLSURL, "tls://127.0.0.1:")
	run := func(pw string) error {
		out, err := exec.Command(pub, "-h", "127.0.0.1", "-p", port, "--cafile", m.PKI.CAFile, "--cert", cert, "--key", key,
			"-u", "acme-s0042", "-P", pw, "-t", "x", "-m", "y", "-q", "1").CombinedOutput()
		if err != nil {
			t.Logf("mosquitto_pub: %s", out)
		}
		return err
	}
	if err := run("secret"); err != nil {
		t.Fatalf("right password over TLS was refused: %v\n%s", err, m.Log())
	}
	if err := run("wrong"); err == nil {
		t.Fatalf("wrong password was accepted")
	}
	m.Restart()
	if err := run("secret"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
