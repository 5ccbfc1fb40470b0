package all_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	_ "github.com/storewatch/storewatch/drivers/all"
	"github.com/storewatch/storewatch/drivers/transport"
	// winspool registers itself in drivers/all on Windows only; the tests
	// load it everywhere so that its Info is checked on every build.
	_ "github.com/storewatch/storewatch/drivers/winspool"
)

// addresses has an address for every scheme a driver may accept.
var addresses = map[string]string{
	"serial": "serial:///dev/ttyS0", "tcp": "tcp://127.0.0.1:9", "http": "http://127.0.0.1:9/", "https": "https://127.0.0.1:9/",
	"icmp": "icmp://127.0.0.1", "snmp": "snmp://127.0.0.1", "usb": "usb://0403:6001", "ipp": "ipp://127.0.0.1:631/printers/x",
	"winspool": "winspool:EPSON TM-T88V Receipt",
}

// Every driver reads only the options its Info declares, on every scheme it
// takes: the declaration is what config check, the JSON Schema and the
// README list, so it must be the whole truth.
func TestDriversReadOnlyDeclaredOptions(t *testing.T) {
	for _, info := range drivers.All() {
		for _, scheme := range info.Schemes {
			raw, ok := addresses[scheme]
			if !ok {
				t.Fatalf("%s: no test address for scheme %s", info.Name, scheme)
			}
			a, err := transport.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			p, err := drivers.New(info.Name, drivers.Spec{ID: "d", Kind: info.Kinds[0], Address: a, Timeout: time.Second, Options: drivers.NewOptions(nil)})
			if err != nil && strings.Contains(err.Error(), "does not declare") {
				t.Errorf("%s on %s: %v", info.Name, scheme, err)
			}
			if c, ok := p.(drivers.Closer); ok && err == nil {
				c.Close()
			}
		}
	}
}

// Each driver's README names every option it declares.
func TestReadmesNameTheOptions(t *testing.T) {
	for _, info := range drivers.All() {
		readme, err := os.ReadFile(filepath.Join("..", info.Name, "README.md"))
		if err != nil {
			t.Errorf("%s: %v", info.Name, err)
			continue
		}
		for _, o := range info.Options {
			if !strings.Contains(string(readme), "`"+o.Name+"`") {
				t.Errorf("%s/README.md does not mention option `%s`", info.Name, o.Name)
			}
		}
	}
}

// An option the driver does not take is refused with the ones it takes.
func TestUnknownOptionNamesTheKnownOnes(t *testing.T) {
	a, _ := transport.Parse("tcp://127.0.0.1:9")
	_, err := drivers.New("zpl", drivers.Spec{ID: "d", Kind: "label_printer", Address: a, Timeout: time.Second,
		Options: drivers.NewOptions(map[string]string{"identify_evry": "5"})})
	info, _ := drivers.Lookup("zpl")
	var names []string
	for _, o := range info.Options {
		names = append(names, o.Name)
	}
	want := "option identify_evry: not known to this driver (it takes " + strings.Join(names, ", ") + ")"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(want, "identify_every") {
		t.Errorf("err = %v, want %q", err, want)
	}
}
