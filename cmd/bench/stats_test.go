package main

import (
	"math"
	"testing"
)

func TestPercentile(t *testing.T) {
	// Percentiles must be observed values by nearest rank, otherwise a p99
	// of a hundred drains would report a lag no drain had.
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // unsorted on purpose
	}
	for _, c := range []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"p50 of one is that one", []float64{3}, 50, 3},
		{"p99 of one is that one", []float64{3}, 99, 3},
		{"p50 of 1..100 is 50", hundred, 50, 50},
		{"p99 of 1..100 is 99", hundred, 99, 99},
		{"p100 is the max", hundred, 100, 100},
		{"p50 of two is the lower", []float64{2, 1}, 50, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := percentile(c.xs, c.p); got != c.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", c.xs, c.p, got, c.want)
			}
		})
	}
	t.Run("none is NaN", func(t *testing.T) {
		if got := percentile(nil, 50); !math.IsNaN(got) {
			t.Errorf("percentile(nil) = %v, want NaN", got)
		}
	})
}

func TestSpread(t *testing.T) {
	// The noise must be min and max over the repetitions, NaN ones (a
	// repetition with no clean drain) left out, otherwise one empty run
	// hides the others.
	got := spreadOf([]float64{3, math.NaN(), 1, 2})
	if want := (spread{Median: 2, Min: 1, Max: 3, N: 3}); got != want {
		t.Errorf("spreadOf = %+v, want %+v", got, want)
	}
	if got := spreadOf([]float64{4, 1}); got.Median != 2.5 {
		t.Errorf("median of {4,1} = %v, want 2.5", got.Median)
	}
}
