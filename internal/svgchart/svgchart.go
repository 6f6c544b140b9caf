// Package svgchart writes the pieces of the hand-written SVG charts the
// commands draw (cmd/bench's docs/benchmark.svg, cmd/demo's
// docs/demo-timeline.svg): the document with its white background, and a
// time axis in seconds. Plain fmt, no dependency: each chart writes its
// own marks between Start and End.
package svgchart

import (
	"fmt"
	"html"
	"io"
	"math"
)

// Start writes the svg element's start tag, width by height user units in
// an 11-unit sans-serif font, and a white background.
func Start(out io.Writer, width, height int) {
	fmt.Fprintf(out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(out, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
}

// End closes the svg element.
func End(out io.Writer) {
	fmt.Fprintln(out, "</svg>")
}

// Text escapes s for an element's text or an attribute's value.
func Text(s string) string { return html.EscapeString(s) }

// Axis draws a horizontal time axis at y, from x = left over plot units for
// 0 to horizon seconds, with a tick labelled in whole seconds about every
// tenth of it.
func Axis(out io.Writer, left, y int, horizon, plot float64) {
	step := math.Max(1, math.Ceil(horizon/10))
	fmt.Fprintf(out, `<line x1="%d" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", left, y, float64(left)+plot, y)
	for t := 0.0; t <= horizon; t += step {
		x := float64(left) + plot*t/horizon
		fmt.Fprintf(out, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/><text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", x, y, x, y+4, x, y+15, t)
	}
}
