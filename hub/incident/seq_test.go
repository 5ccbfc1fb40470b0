package incident

import "testing"

// The sequence window decides, per agent, whether a message is new. Each
// case feeds numbers in arrival order and lists which ones were new.
func TestSeqWindow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		arrive  []uint64
		new     []bool
		gaps    uint64 // skipped over by a later number
		late    uint64 // came after being skipped over
		missing uint64 // Outstanding at the end
	}{
		{"in order", []uint64{1, 2, 3}, []bool{true, true, true}, 0, 0, 0},
		{"repeated deliveries are duplicates", []uint64{1, 2, 2, 1, 3}, []bool{true, true, false, false, true}, 0, 0, 0},
		{"a skipped number is a gap until it comes", []uint64{1, 3, 2, 2}, []bool{true, true, true, false}, 1, 1, 0},
		{"a gap that stays open", []uint64{1, 4}, []bool{true, true}, 2, 0, 2},
		// Found by the benchmark suite: a hub that has never heard of the
		// agent handles its first messages concurrently, so the first it
		// finishes may be a heartbeat numbered after an event. The event
		// is not a duplicate, and the agent's history is not a gap.
		{"first contact out of order", []uint64{1000, 998, 999, 998, 1001}, []bool{true, true, true, false, true}, 0, 0, 0},
		{"first contact: history is not a gap", []uint64{500, 501}, []bool{true, true}, 0, 0, 0},
		// Only the last historySlack numbers below the first are history.
		{"first contact far into the sequence", []uint64{historySlack + 100, 99, 100, 100, historySlack + 101}, []bool{true, false, true, false, true}, 0, 0, 0},
		// ... and forgotten once the agent is a whole slack past them, so
		// that a record does not carry them for good.
		{"history is forgotten", []uint64{1000, 1000 + historySlack + 1, 999}, []bool{true, true, false}, historySlack, 0, historySlack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w SeqWindow
			for i, seq := range tc.arrive {
				if got := w.Observe(seq); got != tc.new[i] {
					t.Errorf("message %d (seq %d): new = %v, want %v", i+1, seq, got, tc.new[i])
				}
			}
			if w.Gaps != tc.gaps || w.Late != tc.late || w.Outstanding() != tc.missing || w.Lost != 0 {
				t.Errorf("gaps %d late %d outstanding %d lost %d; want gaps %d late %d outstanding %d lost 0",
					w.Gaps, w.Late, w.Outstanding(), w.Lost, tc.gaps, tc.late, tc.missing)
			}
		})
	}
}

// Numbers the agent says it no longer has are given up: no longer missing,
// counted as gone, and a late arrival of one of them is a duplicate.
func TestSeqWindowGiveUp(t *testing.T) {
	for _, tc := range []struct {
		name      string
		from, to  uint64
		gone      uint64
		missing   []SeqRange // after
		afterMark uint64
	}{
		{"a whole range", 2, 4, 3, []SeqRange{{From: 7, To: 8}}, 6},
		{"the middle of one", 3, 3, 1, []SeqRange{{From: 2, To: 2}, {From: 4, To: 4}, {From: 7, To: 8}}, 1},
		{"across two", 4, 7, 2, []SeqRange{{From: 2, To: 3}, {From: 8, To: 8}}, 1},
		{"numbers not missing", 5, 6, 0, []SeqRange{{From: 2, To: 4}, {From: 7, To: 8}}, 1},
		{"everything", 1, 100, 5, nil, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w SeqWindow
			for _, s := range []uint64{1, 5, 6, 9} { // missing 2-4 and 7-8
				w.Observe(s)
			}
			if n := w.GiveUp(tc.from, tc.to); n != tc.gone || w.Gone != tc.gone {
				t.Fatalf("GiveUp(%d, %d) = %d (gone %d), want %d", tc.from, tc.to, n, w.Gone, tc.gone)
			}
			if len(w.Missing) != len(tc.missing) || w.Mark != tc.afterMark {
				t.Fatalf("missing %v mark %d, want %v mark %d", w.Missing, w.Mark, tc.missing, tc.afterMark)
			}
			for i := range w.Missing {
				if w.Missing[i] != tc.missing[i] {
					t.Fatalf("missing %v, want %v", w.Missing, tc.missing)
				}
			}
			if tc.gone > 0 && w.Observe(tc.from) {
				t.Errorf("seq %d came after being given up: counted as new", tc.from)
			}
		})
	}
}

// A birth says where the agent's undelivered numbers begin (its next): from
// there nothing is history, so a lost first message is missing; and a
// number below it that never came was lost after the broker had it.
func TestSeqWindowBirth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		steps   []int64 // > 0: a message with that number; < 0: a birth with next -n
		missing []SeqRange
		gaps    uint64
	}{
		{"birth first, the first message lost", []int64{-100, 101, 102}, []SeqRange{{From: 100, To: 100}}, 1},
		{"the first message lost, the birth after", []int64{101, -100, 102}, []SeqRange{{From: 100, To: 100}}, 1},
		{"history below the birth stays history", []int64{-100, 100, 101}, nil, 0},
		{"delivered before the reconnect, never seen", []int64{5, 6, -10, 10}, []SeqRange{{From: 7, To: 9}}, 3},
		{"the late ones fill it", []int64{5, 6, -10, 7, 8, 9}, nil, 3},
		{"a birth whose next came already changes nothing", []int64{5, 6, -5, 7}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w SeqWindow
			for _, s := range tc.steps {
				if s < 0 {
					w.Born(uint64(-s))
				} else {
					w.Observe(uint64(s))
				}
			}
			var real []SeqRange
			for _, r := range w.Missing {
				if !r.History {
					real = append(real, r)
				}
			}
			if len(real) != len(tc.missing) || w.Gaps != tc.gaps {
				t.Fatalf("missing %v gaps %d, want %v gaps %d (window %+v)", real, w.Gaps, tc.missing, tc.gaps, w)
			}
			for i := range real {
				if real[i] != tc.missing[i] {
					t.Fatalf("missing %v, want %v", real, tc.missing)
				}
			}
		})
	}
}
