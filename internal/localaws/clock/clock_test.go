package clock

import (
	"testing"
	"time"
)

func TestFakeAdvancesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)
	f := NewFake(start)
	if got := f.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
	f.Advance(90 * time.Second)
	if got, want := f.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance(90s) Now() = %v, want %v", got, want)
	}
}

func TestScaledRunsFasterThanWallClock(t *testing.T) {
	origin := time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)
	s := NewScaled(origin, 1000)
	time.Sleep(5 * time.Millisecond)
	if elapsed := s.Now().Sub(origin); elapsed < 5*time.Second {
		t.Fatalf("scaled clock advanced %v after 5ms at x1000, want >= 5s", elapsed)
	}
}
