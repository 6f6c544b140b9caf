package main

import (
	"math"
	"slices"
)

// percentile is the nearest-rank percentile p (0 < p <= 100) of xs; NaN
// for none. Nearest rank keeps p99 of a hundred drains an observed drain,
// not an interpolation between two.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// spread is a measurement repeated: its median and the machine's noise
// around it (min and max over the repetitions).
type spread struct {
	Median, Min, Max float64
	N                int
}

func spreadOf(xs []float64) spread {
	var ok []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			ok = append(ok, x)
		}
	}
	if len(ok) == 0 {
		return spread{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	slices.Sort(ok)
	m := ok[len(ok)/2]
	if len(ok)%2 == 0 {
		m = (ok[len(ok)/2-1] + ok[len(ok)/2]) / 2
	}
	return spread{Median: m, Min: ok[0], Max: ok[len(ok)-1], N: len(ok)}
}
