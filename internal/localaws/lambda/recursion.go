package lambda

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Recursive loop settings, as PutFunctionRecursionConfig names them.
const (
	RecursiveLoopAllow     = "Allow"
	RecursiveLoopTerminate = "Terminate"
)

// maxChainInvocations is how many times one chain of requests may invoke a
// function. AWS's launch notice: "If a function is invoked by the same
// triggering event more than 16 times, Lambda will stop the next invocation
// and send the event to a Dead-Letter Queue or on-failure destination, if
// configured" (quoted in DataBiosphere/azul#5368; boto/boto3#3899 observed
// the stop after 16 SQS hops). The Lineage counter of the first invocation is
// 0, as in AWSTraceHeader values seen in the wild ("Lineage=037bed70:0"), so
// the invocation that would carry 16 is the 17th and is stopped.
const maxChainInvocations = 16

// trace is an X-Ray trace header, Root=…;Parent=…;Sampled=…;Lineage=…, with
// its fields kept in order so unknown ones pass through.
type trace struct {
	keys   []string
	values map[string]string
}

func parseTrace(header string) trace {
	// The SDK percent-encodes the header it copies from _X_AMZN_TRACE_ID
	// (aws/middleware/recursion_detection.go encodes '|', which separates
	// Lineage entries), and SQS hands it back as sent.
	if h, err := url.PathUnescape(header); err == nil {
		header = h
	}
	t := trace{values: map[string]string{}}
	for field := range strings.SplitSeq(header, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok || k == "" {
			continue
		}
		t.set(k, v)
	}
	return t
}

func (t *trace) set(k, v string) {
	if _, ok := t.values[k]; !ok {
		t.keys = append(t.keys, k)
	}
	t.values[k] = v
}

func (t trace) String() string {
	fields := make([]string, 0, len(t.keys))
	for _, k := range t.keys {
		fields = append(fields, k+"="+t.values[k])
	}
	return strings.Join(fields, ";")
}

// lineageEntry is one function's counter in a Lineage field.
type lineageEntry struct {
	hash  string
	count int
}

// parseLineage reads "a87bd80c:1|68fd508a:5", the form the X-Ray tracing
// header documentation shows. Entries seen in the wild since 2025 carry a
// version first ("1:fe460cdd:0"); the version is dropped. Malformed entries
// are ignored, as a counter that cannot be read cannot stop anything.
func parseLineage(v string) []lineageEntry {
	var out []lineageEntry
	for entry := range strings.SplitSeq(v, "|") {
		parts := strings.Split(entry, ":")
		if len(parts) < 2 {
			continue
		}
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil || n < 0 {
			continue
		}
		out = append(out, lineageEntry{hash: parts[len(parts)-2], count: n})
	}
	return out
}

func formatLineage(entries []lineageEntry) string {
	s := make([]string, len(entries))
	for i, e := range entries {
		s[i] = e.hash + ":" + strconv.Itoa(e.count)
	}
	return strings.Join(s, "|")
}

// lineageHash names a function in Lineage fields. AWS does not document what
// it hashes; the function ARN is what identifies a function.
func lineageHash(functionARN string) string {
	sum := sha256.Sum256([]byte(functionARN))
	return hex.EncodeToString(sum[:4])
}

// invocationTrace is the trace header an invocation of the function runs
// with, derived from the one its event carried (empty when none), and the
// invocation's place in its chain: 0 for the first. The root is kept so the
// chain stays one trace, the parent is a new segment, and this function's
// Lineage counter goes up by one.
func invocationTrace(incoming, hash string, now time.Time) (header string, hop int) {
	t := parseTrace(incoming)
	if t.values["Root"] == "" {
		t.set("Root", newTraceRoot(now))
	}
	t.set("Parent", randomHex(8))
	if t.values["Sampled"] == "" {
		t.set("Sampled", "0")
	}
	entries := parseLineage(t.values["Lineage"])
	hop = 0
	found := false
	for i := range entries {
		if entries[i].hash == hash {
			entries[i].count++
			hop, found = entries[i].count, true
		}
	}
	if !found {
		entries = append(entries, lineageEntry{hash: hash})
	}
	t.set("Lineage", formatLineage(entries))
	return t.String(), hop
}

// newTraceRoot is an X-Ray trace id: version 1, epoch seconds in hex, 96
// random bits.
func newTraceRoot(now time.Time) string {
	return fmt.Sprintf("1-%08x-%s", now.Unix(), randomHex(12))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// newRequestID is a random UUID, the form of Lambda request ids.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
