package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/internal/version"
)

func TestPasswdPrintsAHashThatVerifies(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"passwd", "--iterations", "1000"}, strings.NewReader("s3cret\n"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if h := strings.TrimSpace(out.String()); !broker.VerifyPassword(h, "s3cret") {
		t.Errorf("hash %q does not verify", h)
	}
}

func TestACLFromTheExampleConfig(t *testing.T) {
	t.Setenv("STOREHUB_VIEWER_TOKEN", "viewer-token-0123456789")
	t.Setenv("STOREHUB_ENGINEER_TOKEN", "engineer-token-0123456789")
	t.Setenv("STOREHUB_MQTT_PASSWORD", "x")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"acl", "--config", "../../packaging/examples/hub.yaml"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"user storehub\ntopic read storewatch/v1/#\n",
		"user acme-s0042-backoffice-1\ntopic write storewatch/v1/acme/s0042/backoffice-1/status\n",
		"topic read storewatch/v1/acme/s0043/backoffice-1/cmd/req\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("acl lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	run(context.Background(), []string{"acl", "--passwd", "--config", "../../packaging/examples/hub.yaml"}, nil, &out, &errb)
	if !strings.HasPrefix(out.String(), "acme-s0042-backoffice-1:$7$20000$") {
		t.Errorf("password file: %q", out.String())
	}
}

func TestUnknownCommandAndVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, nil, &out, &errb); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
	if code := run(context.Background(), []string{"version"}, nil, &out, &errb); code != 0 || out.String() != version.Long("storehub")+"\n" {
		t.Errorf("version: %d %q", code, out.String())
	}
	if code := run(context.Background(), []string{"serve", "--config", os.DevNull}, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "empty") {
		t.Errorf("serve with an empty config: exit %d, %s", code, errb.String())
	}
}

func TestClientCommandsTalkToTheAPI(t *testing.T) {
	y := "data_dir: " + t.TempDir() + "\napi: {listen: \"127.0.0.1:0\", tokens: [{name: t, role: viewer, token: viewer-token-0123456789}]}\n" +
		"broker: {embedded: {listen: \"127.0.0.1:0\"}}\nagents: [{tenant: acme, store: s1, agent: a1, cert_cn: a1}]\n"
	path := t.TempDir() + "/hub.yaml"
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := hub.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	api := "http://" + h.APIAddr()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"incidents", "--api", api, "--token", "viewer-token-0123456789", "--state", "live"}, nil, &out, &errb); code != 0 {
		t.Fatalf("incidents: exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "ID") {
		t.Errorf("incidents output: %q", out.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"devices", "--api", api, "--token", "viewer-token-0123456789", "--state", "broken"}, nil, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "HTTP 400") {
		t.Errorf("a bad filter: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"stores", "--api", api}, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "HTTP 401") {
		t.Errorf("no token: exit %d: %s", code, errb.String())
	}
}
