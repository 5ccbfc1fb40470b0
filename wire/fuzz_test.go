package wire

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeChannel feeds arbitrary bytes to the decoder of every channel. It
// must never panic, and whatever it accepts must survive a re-encode.
func FuzzDecodeChannel(f *testing.F) {
	seedChannels(f)
	f.Add(uint8(0), []byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, chIndex uint8, data []byte) {
		ch := channels[int(chIndex)%len(channels)]
		m, err := DecodeChannel(ch, data)
		if err != nil {
			if m != nil {
				t.Fatal("decoder returned a message with an error")
			}
			return
		}
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted message does not re-encode: %v", err)
		}
		if _, err := DecodeChannel(ch, again); err != nil {
			t.Fatalf("re-encoded message does not decode: %v\n%s", err, again)
		}
	})
}

// seedChannels seeds a fuzz test with every golden payload on every channel
// (a channel index and a payload).
func seedChannels(f *testing.F) {
	for _, data := range goldenPayloads(f) {
		for i := range channels {
			f.Add(uint8(i), data)
		}
	}
}

// goldenPayloads returns every golden payload (testdata/*.json).
func goldenPayloads(tb testing.TB) [][]byte {
	files, _ := filepath.Glob("testdata/*.json")
	var out [][]byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}
