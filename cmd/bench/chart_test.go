package main

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestChartIsWellFormedSVG(t *testing.T) {
	// The chart is hand-written XML: it must parse, with an svg root and a
	// bar per drawn drain, otherwise browsers show nothing at all.
	timelines := []result{
		{Design: "ecs-drainer", Drains: 2, Records: []drainRecord{{Start: 0, LastStop: 3, End: 3.5, Completed: true}, {Start: 0.1, LastStop: 5, End: 4, Completed: true, Early: true}}},
		{Design: "a <b> & c", Drains: 100, Records: make([]drainRecord, 100)},
	}
	rows := []row{summarize(design{Name: "ecs-drainer"}, timelines[:1]), {Drains: 1000, Design: "a <b> & c", Skipped: "x"}}
	var b strings.Builder
	renderChart(&b, timelines, rows)
	dec := xml.NewDecoder(strings.NewReader(b.String()))
	root, rects := "", 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "rect" {
				rects++
			}
		}
	}
	if root != "svg" {
		t.Errorf("root element = %q, want svg", root)
	}
	// Background, 2 + 40 (sampled from 100) timelines with a grey and a
	// coloured or red mark each, and two lag bars.
	if want := 1 + 2*(2+maxRows) + 2; rects != want {
		t.Errorf("got %d rects, want %d", rects, want)
	}
}

func TestSampleKeepsAtMostMaxRows(t *testing.T) {
	// A 1,000-drain timeline must not draw 1,000 rows, otherwise the SVG is
	// megabytes and unreadable.
	if got := len(sample(make([]drainRecord, 1000))); got != maxRows {
		t.Errorf("sample of 1000 = %d rows, want %d", got, maxRows)
	}
	if got := len(sample(make([]drainRecord, 3))); got != 3 {
		t.Errorf("sample of 3 = %d rows, want 3", got)
	}
}
