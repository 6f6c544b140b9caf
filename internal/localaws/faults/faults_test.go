package faults

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decisions rolls every kind in turn, n times, and returns the decisions.
func decisions(in *Injector, n int) []bool {
	kinds := []string{KindThrottle, KindServerError, KindLatency, KindDuplicateSQS}
	var out []bool
	for range n {
		for _, k := range kinds {
			out = append(out, in.Roll(k, 0.5))
		}
	}
	return out
}

// A failing soak must be replayable: the same seed and the same calls must
// make the same decisions, otherwise a seed in a report reproduces nothing.
func TestSameSeedMakesSameDecisions(t *testing.T) {
	a := decisions(New(Config{Seed: 7}), 100)
	b := decisions(New(Config{Seed: 7}), 100)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("seed 7 twice: decisions differ (-first +second):\n%s", diff)
	}
	if c := decisions(New(Config{Seed: 8}), 100); slices.Equal(a, c) {
		t.Fatal("seeds 7 and 8: got the same 400 decisions, want different ones")
	}
}

// Each kind must draw from its own stream, otherwise turning one fault on
// would change every other fault's decisions and a soak could not vary one
// rate at a time.
func TestKindsDrawFromIndependentStreams(t *testing.T) {
	alone := New(Config{Seed: 3})
	mixed := New(Config{Seed: 3})
	for i := range 200 {
		mixed.Roll(KindLatency, 0.5)
		mixed.Roll(KindDuplicateEvent, 0.5)
		if got, want := mixed.Roll(KindThrottle, 0.5), alone.Roll(KindThrottle, 0.5); got != want {
			t.Fatalf("throttle decision %d with other kinds interleaved: got %v, want %v", i, got, want)
		}
	}
}

func TestRollFollowsRate(t *testing.T) {
	tests := []struct {
		name     string
		rate     float64
		min, max int // fired, out of 1000
	}{
		{"a zero rate never fires", 0, 0, 0},
		{"a negative rate never fires", -1, 0, 0},
		{"a rate of one always fires", 1, 1000, 1000},
		{"a rate of 0.3 fires about three times in ten", 0.3, 250, 350},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := New(Config{Seed: 1})
			fired := 0
			for range 1000 {
				if in.Roll(KindThrottle, tt.rate) {
					fired++
				}
			}
			if fired < tt.min || fired > tt.max {
				t.Fatalf("Roll(%v) fired %d times in 1000, want %d to %d", tt.rate, fired, tt.min, tt.max)
			}
			if got := in.Stats()[KindThrottle]; got != fired {
				t.Fatalf("Stats()[throttle] = %d, want the %d faults fired", got, fired)
			}
		})
	}
}

// The delivery hooks must follow their Config rates; the zero Config must
// inject nothing, so that wiring an injector in changes nothing by itself.
func TestDeliveryHooksFollowConfig(t *testing.T) {
	zero := New(Config{})
	if zero.DuplicateSQS() || zero.DuplicateEvent() || zero.Shuffle(5) != nil {
		t.Fatal("zero Config: got a duplicate or a shuffle, want none")
	}
	if got := zero.Stats(); len(got) != 0 {
		t.Fatalf("zero Config: Stats() = %v, want empty", got)
	}

	all := New(Config{DuplicateSQS: 1, DuplicateEvents: 1, Reorder: true})
	if !all.DuplicateSQS() || !all.DuplicateEvent() {
		t.Fatal("rates of one: got no duplicate, want one")
	}
	perm := all.Shuffle(5)
	sorted := slices.Sorted(slices.Values(perm))
	if !slices.Equal(sorted, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("Shuffle(5) = %v, want a permutation of 0..4", perm)
	}
	if got := all.Shuffle(1); got != nil {
		t.Fatalf("Shuffle(1) = %v, want nil: one message has one order", got)
	}
	want := map[string]int{KindDuplicateSQS: 1, KindDuplicateEvent: 1, KindReorder: 1}
	if diff := cmp.Diff(want, all.Stats()); diff != "" {
		t.Fatalf("Stats() (-want +got):\n%s", diff)
	}
}

func TestShuffleIsReproducible(t *testing.T) {
	a, b := New(Config{Seed: 11, Reorder: true}), New(Config{Seed: 11, Reorder: true})
	for i := range 20 {
		if pa, pb := a.Shuffle(8), b.Shuffle(8); !slices.Equal(pa, pb) {
			t.Fatalf("shuffle %d with seed 11 twice: got %v and %v, want the same", i, pa, pb)
		}
	}
}
