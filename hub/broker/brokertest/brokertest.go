package brokertest

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// StartMosquitto runs Mosquitto on a free loopback port with the given
// acl_file and password_file contents (as storehub acl prints them). It
// returns the broker URL; the process is stopped when the test ends.
func StartMosquitto(t testing.TB, aclFile, passwordFile string) string {
	t.Helper()
	mosquitto := testenv.LookPath(t, "mosquitto")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	// "user": started as root, Mosquitto would switch to its own user, who
	// cannot read the test's private directory.
	conf := write("mosquitto.conf", fmt.Sprintf(
		"listener %d 127.0.0.1\nset_tcp_nodelay true\nallow_anonymous false\npassword_file %s\nacl_file %s\npersistence false\nuser %s\n",
		port, write("passwd", passwordFile), write("acl", aclFile), me.Username))
	testenv.Start(t, mosquitto, "-c", conf)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	testenv.WaitForPort(t, addr, 10*time.Second)
	return "tcp://" + addr
}

// Options are how a test client connects.
type Options struct {
	User, Password string
	TLS            *tls.Config
	// WillTopic, if set, registers a retained QoS 1 will with WillPayload.
	WillTopic   string
	WillPayload []byte
}

// Dial connects an MQTT 3.1.1 client without automatic reconnects (a refused
// login is an error, not a retry loop). It is disconnected when the test ends.
func Dial(t testing.TB, url string, o Options) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("%s-%d", o.User, time.Now().UnixNano())).
		SetUsername(o.User).SetPassword(o.Password).SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	if o.TLS != nil {
		opts.SetTLSConfig(o.TLS)
	}
	if o.WillTopic != "" {
		opts.SetBinaryWill(o.WillTopic, o.WillPayload, 1, true)
	}
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("connect %s as %q: %v", url, o.User, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}
