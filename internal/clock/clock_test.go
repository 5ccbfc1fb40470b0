package clock

import (
	"testing"
	"time"
)

func TestFakeFiresTimersInOrder(t *testing.T) {
	start := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	f := NewFake(start)
	late := f.NewTimer(2 * time.Second)
	early := f.NewTimer(time.Second)
	stopped := f.NewTimer(time.Second)
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	f.Advance(1500 * time.Millisecond)
	select {
	case at := <-early.C():
		if !at.Equal(start.Add(time.Second)) {
			t.Errorf("early fired at %v", at)
		}
	default:
		t.Fatal("early timer did not fire")
	}
	select {
	case <-late.C():
		t.Fatal("late timer fired too soon")
	case <-stopped.C():
		t.Fatal("stopped timer fired")
	default:
	}
	f.Advance(time.Second)
	if at := <-late.C(); !at.Equal(start.Add(2 * time.Second)) {
		t.Errorf("late fired at %v", at)
	}
	if got := f.Now(); !got.Equal(start.Add(2500 * time.Millisecond)) {
		t.Errorf("Now = %v", got)
	}
}

func TestWaitForTimers(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	done := make(chan struct{})
	go func() {
		f.WaitForTimers(1)
		close(done)
	}()
	f.NewTimer(time.Minute)
	<-done
	if f.Pending() != 1 {
		t.Errorf("Pending = %d", f.Pending())
	}
}
