package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/internal/cli"
)

func acl(_ context.Context, args []string, std cli.Stdio) error {
	stdout := std.Out
	fs := program.Flags("acl", std.Err)
	path := configFlag(fs)
	hubUser := fs.String("hub-user", "storehub", "the MQTT user the hub connects as")
	pw := fs.Bool("passwd", false, "print a Mosquitto password_file instead")
	cfg, err := parseConfig(fs, path, args)
	if err != nil {
		return err
	}
	a := broker.NewAccess(cfg.Agents)
	if *pw {
		_, err = io.WriteString(stdout, a.PasswordFile())
	} else {
		_, err = io.WriteString(stdout, a.MosquittoACL(*hubUser))
	}
	return err
}

func passwd(_ context.Context, args []string, std cli.Stdio) error {
	fs := program.Flags("passwd", std.Err)
	it := fs.Int("iterations", broker.DefaultIterations, "PBKDF2 iterations")
	if err := fs.Parse(args); err != nil {
		return err
	}
	line, err := bufio.NewReader(std.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return errors.New("passwd: no password on stdin")
	}
	h, err := broker.HashPassword(pw, *it)
	if err != nil {
		return err
	}
	fmt.Fprintln(std.Out, h)
	return nil
}

// keys prints the hub's public key, creating the key pair if the hub has
// none yet, so agents can be configured before the hub's first start.
func keys(_ context.Context, args []string, std cli.Stdio) error {
	fs := program.Flags("keys", std.Err)
	cfg, err := parseConfig(fs, configFlag(fs), args)
	if err != nil {
		return err
	}
	k, err := cfg.Remote.Key(nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(std.Out, k.PublicKey())
	return nil
}
