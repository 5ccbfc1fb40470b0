package wire

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

func TestEnrolGoldenFilesDecode(t *testing.T) {
	data, err := os.ReadFile("testdata/enrol/request.json")
	if err != nil {
		t.Fatal(err)
	}
	req, err := DecodeEnrolRequest(data)
	if err != nil || req.Store != "S0042" || req.Agent != "main" || req.OS != "windows/amd64" {
		t.Fatalf("request = %+v, %v", req, err)
	}
	data, err = os.ReadFile("testdata/enrol/response.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := DecodeEnrolResponse(data)
	if err != nil || res.AgentID != (AgentID{"acme", "S0042", "main"}) || res.Username != "acme-S0042-main" || !res.Replaced {
		t.Fatalf("response = %+v, %v", res, err)
	}
}

func TestEnrolRequestIsStrict(t *testing.T) {
	for _, c := range []struct {
		name, body string
		kind       error
		field      string
	}{
		{"unknown field", `{"v":1,"token":"t","store":"S1","agent":"a","password":"x"}`, ErrMalformed, ""},
		{"other version", `{"v":2,"token":"t","store":"S1"}`, ErrUnsupportedVersion, ""},
		{"no token", `{"v":1,"store":"S1"}`, ErrInvalid, "token"},
		{"bad store", `{"v":1,"token":"t","store":"S1/#"}`, ErrInvalid, "store"},
		{"bad agent", `{"v":1,"token":"t","store":"S1","agent":"a b"}`, ErrInvalid, "agent"},
		{"trailing data", `{"v":1,"token":"t","store":"S1"} {}`, ErrMalformed, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeEnrolRequest([]byte(c.body))
			var de *DecodeError
			if !errors.Is(err, c.kind) || !errors.As(err, &de) || de.Field != c.field {
				t.Fatalf("err = %v, want %v on %q", err, c.kind, c.field)
			}
		})
	}
	req, err := DecodeEnrolRequest([]byte(`{"v":1,"token":"t","store":"S1"}`))
	if err != nil || req.Agent != DefaultAgentName {
		t.Fatalf("without an agent: %+v, %v; want agent %q", req, err, DefaultAgentName)
	}
}

// FuzzDecodeEnrol feeds arbitrary bytes to both enrolment decoders: they
// must not panic, and what they accept must survive a re-encode.
func FuzzDecodeEnrol(f *testing.F) {
	for _, file := range []string{"testdata/enrol/request.json", "testdata/enrol/response.json"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"v":1,"token":"x","store":"s"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if req, err := DecodeEnrolRequest(data); err == nil {
			again, _ := json.Marshal(req)
			if _, err := DecodeEnrolRequest(again); err != nil {
				t.Fatalf("accepted request does not decode again: %v\n%s", err, again)
			}
		}
		if res, err := DecodeEnrolResponse(data); err == nil {
			again, _ := json.Marshal(res)
			if _, err := DecodeEnrolResponse(again); err != nil {
				t.Fatalf("accepted response does not decode again: %v\n%s", err, again)
			}
		}
	})
}
