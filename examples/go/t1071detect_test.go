// SPDX-License-Identifier: Apache-2.0

package t1071detect_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	t1071 "github.com/t1071detect/t1071detect-go"
	"github.com/t1071detect/t1071detect-go/ecsv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

// ===== Fixtures =====

// sourceDir is the repository root: $T1071_SOURCE, else two levels up.
func sourceDir() string {
	if s := os.Getenv("T1071_SOURCE"); s != "" {
		return s
	}
	abs, _ := filepath.Abs(filepath.Join("..", ".."))
	return abs
}

func vectorsDir() string {
	return filepath.Join(sourceDir(), "tests", "integration", "fixtures", "eql-vectors")
}

func vectorNames(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(vectorsDir(), "*.ndjson"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no EQL vectors under %s (set T1071_SOURCE)", vectorsDir())
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".ndjson"))
	}
	sort.Strings(names)
	return names
}

func vectorLines(t *testing.T, name string) [][]byte {
	f, err := os.Open(filepath.Join(vectorsDir(), name+".ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func vectorExpected(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join(vectorsDir(), name+".expected"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonASCII writes s as a JSON string, ASCII only (\uXXXX, lower-case hex,
// surrogate pairs): the .expected format t1071-replay writes.
func jsonASCII(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			buf.WriteByte('\\')
			buf.WriteRune(r)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r == '\b':
			buf.WriteString(`\b`)
		case r == '\f':
			buf.WriteString(`\f`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(buf, `\u%04x`, r)
		case r < 0x80:
			buf.WriteRune(r)
		case r == utf8.RuneError:
			buf.WriteString(`\ufffd`)
		case r >= 0x10000:
			r -= 0x10000
			fmt.Fprintf(buf, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(buf, `\u%04x`, r)
		}
	}
	buf.WriteByte('"')
}

// sequences renders alerts in the .expected format: one compact JSON array
// of member event ids per alert.
func sequences(alerts []*ecsv1.Alert) []byte {
	var buf bytes.Buffer
	for _, a := range alerts {
		buf.WriteByte('[')
		for i, m := range a.GetMembers() {
			if i > 0 {
				buf.WriteByte(',')
			}
			jsonASCII(&buf, m.GetEventId())
		}
		buf.WriteString("]\n")
	}
	return buf.Bytes()
}

func mustNew(t *testing.T, settings map[string]string) *t1071.Detector {
	t.Helper()
	d, err := t1071.NewWith(settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func poll(t *testing.T, d *t1071.Detector) []*ecsv1.Alert {
	t.Helper()
	a, err := d.PollAlerts()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// replay feeds every item, polling after each, then flushes.
func replay(t *testing.T, d *t1071.Detector, n int, feed func(i int) error) []*ecsv1.Alert {
	t.Helper()
	var alerts []*ecsv1.Alert
	for i := 0; i < n; i++ {
		if err := feed(i); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		alerts = append(alerts, poll(t, d)...)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	return append(alerts, poll(t, d)...)
}

func checkSeq(t *testing.T, name string, alerts []*ecsv1.Alert) {
	t.Helper()
	got, want := sequences(alerts), vectorExpected(t, name)
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
	}
}

// ===== A Go-side ECS -> Event encoder, for the protobuf path =====

// ecsEvent builds an Event from a decoded ECS document with Go protobuf,
// for the value shapes of the vectors (strings or arrays of them, numbers
// or numeric strings, nested objects or dotted keys).
func ecsEvent(t *testing.T, line []byte, record uint64) *ecsv1.Event {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	flat := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			} else {
				flat[prefix+k] = v
			}
		}
	}
	walk("", doc)
	list := func(v any) []any {
		switch x := v.(type) {
		case nil:
			return nil
		case []any:
			return x
		default:
			return []any{x}
		}
	}
	strs := func(key string) []string {
		var out []string
		for _, v := range list(flat[key]) {
			switch x := v.(type) {
			case string:
				out = append(out, x)
			case json.Number:
				out = append(out, x.String())
			case bool:
				out = append(out, strconv.FormatBool(x))
			}
		}
		return out
	}
	str := func(key string) *string {
		if s := strs(key); len(s) > 0 {
			return proto.String(s[0])
		}
		return nil
	}
	ints := func(key string) []int64 {
		var out []int64
		for _, v := range list(flat[key]) {
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case json.Number:
				s = x.String()
			}
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				out = append(out, n)
			}
		}
		return out
	}
	ev := &ecsv1.Event{
		EventId:          str("event.id"),
		EventCategory:    strs("event.category"),
		EventType:        strs("event.type"),
		NetworkDirection: strs("network.direction"),
		DestinationIp:    strs("destination.ip"),
		DestinationPort:  ints("destination.port"),
		ProcessEntityId:  strs("process.entity_id"),
		ProcessName:      strs("process.name"),
		HostName:         str("host.name"),
		HostId:           str("host.id"),
	}
	if ts, ok := flat["@timestamp"].(string); ok {
		ms, err := parseTime(ts)
		if err != nil {
			t.Fatal(err)
		}
		ev.TimestampMs = proto.Int64(ms)
	}
	if record != 0 {
		ev.RecordNumber = proto.Uint64(record)
	}
	return ev
}

// parseTime reads "YYYY-MM-DDTHH:MM:SS.fffZ" as the vectors write it.
func parseTime(s string) (int64, error) {
	var y, mo, d, h, mi, sec, ms int
	if _, err := fmt.Sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &sec, &ms); err != nil {
		return 0, fmt.Errorf("%q: %v", s, err)
	}
	// days from civil (Howard Hinnant)
	yy := y
	if mo <= 2 {
		yy--
	}
	era := yy / 400
	yoe := yy - era*400
	m := mo + 9
	if mo > 2 {
		m = mo - 3
	}
	doy := (153*m+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := int64(era*146097 + doe - 719468)
	return days*86400000 + int64(h*3600+mi*60+sec)*1000 + int64(ms), nil
}

// ===== Vector replay =====

func TestVectorsFeedJSON(t *testing.T) {
	for _, name := range vectorNames(t) {
		t.Run(name, func(t *testing.T) {
			lines := vectorLines(t, name)
			d := mustNew(t, nil)
			checkSeq(t, name, replay(t, d, len(lines), func(i int) error { return d.FeedJSON(lines[i]) }))
			st, err := d.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st["records_in"] != uint64(len(lines)) {
				t.Errorf("records_in = %d, want %d", st["records_in"], len(lines))
			}
		})
	}
}

func TestVectorsGoProtobuf(t *testing.T) {
	for _, name := range vectorNames(t) {
		t.Run(name, func(t *testing.T) {
			lines := vectorLines(t, name)
			events := make([]*ecsv1.Event, len(lines))
			for i, l := range lines {
				events[i] = ecsEvent(t, l, uint64(i+1))
				// The Go encoding is the library's own reading of the line.
				raw, err := t1071.EventFromJSON(l, uint64(i+1))
				if err != nil {
					t.Fatal(err)
				}
				lib := &ecsv1.Event{}
				if err := proto.Unmarshal(raw, lib); err != nil {
					t.Fatal(err)
				}
				if !proto.Equal(events[i], lib) {
					t.Fatalf("line %d: Go %v != library %v", i+1, events[i], lib)
				}
			}
			d := mustNew(t, nil)
			checkSeq(t, name, replay(t, d, len(events), func(i int) error { return d.FeedMessage(events[i]) }))
		})
	}
}

func TestVectorsLibraryEncoding(t *testing.T) {
	for _, name := range vectorNames(t) {
		t.Run(name, func(t *testing.T) {
			lines := vectorLines(t, name)
			d := mustNew(t, nil)
			checkSeq(t, name, replay(t, d, len(lines), func(i int) error {
				raw, err := t1071.EventFromJSON(lines[i], uint64(i+1))
				if err != nil {
					return err
				}
				return d.FeedEvent(raw)
			}))
		})
	}
}

func TestVectorsFeedBatch(t *testing.T) {
	for _, name := range vectorNames(t) {
		t.Run(name, func(t *testing.T) {
			lines := vectorLines(t, name)
			events := make([]*ecsv1.Event, len(lines))
			for i, l := range lines {
				events[i] = ecsEvent(t, l, 0)
			}
			batch, err := t1071.EncodeBatch(events...)
			if err != nil {
				t.Fatal(err)
			}
			d := mustNew(t, nil)
			checkSeq(t, name, replay(t, d, 1, func(int) error {
				n, err := d.FeedBatch(batch)
				if err == nil && n != len(batch) {
					err = fmt.Errorf("consumed %d of %d", n, len(batch))
				}
				return err
			}))
		})
	}
}

// With a queue of one alert, every vector still gives its alerts when the
// caller polls and feeds again on ErrQueueFull.
func TestVectorsTinyQueue(t *testing.T) {
	for _, name := range vectorNames(t) {
		t.Run(name, func(t *testing.T) {
			lines := vectorLines(t, name)
			d := mustNew(t, map[string]string{"engine.alert_queue": "1"})
			var alerts []*ecsv1.Alert
			refusals := uint64(0)
			retry := func(f func() error) {
				for {
					err := f()
					if errors.Is(err, t1071.ErrQueueFull) {
						refusals++
						alerts = append(alerts, poll(t, d)...)
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					return
				}
			}
			for _, l := range lines {
				retry(func() error { return d.FeedJSON(l) })
			}
			retry(d.Flush)
			alerts = append(alerts, poll(t, d)...)
			checkSeq(t, name, alerts)
			if n, _ := d.Stat("queue_full_refusals"); n != refusals {
				t.Errorf("queue_full_refusals = %d, want %d", n, refusals)
			}
		})
	}
}

// ===== Backpressure =====

func beacon(i int) *ecsv1.Event {
	return &ecsv1.Event{
		TimestampMs:      proto.Int64(1704067200000 + int64(i)*60000),
		EventId:          proto.String(fmt.Sprintf("E1-%02d", i)),
		EventCategory:    []string{"network"},
		EventType:        []string{"connection"},
		NetworkDirection: []string{"egress"},
		DestinationIp:    []string{"8.8.8.8"},
		DestinationPort:  []int64{443},
		ProcessEntityId:  []string{"E1"},
		ProcessName:      []string{"beacon.exe"},
		HostName:         proto.String("h1"),
	}
}

func marshal(t *testing.T, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestQueueFullNotConsumed(t *testing.T) {
	d := mustNew(t, map[string]string{"rule.runs": "2", "engine.alert_queue": "2"})
	for i := 0; i < 3; i++ {
		if err := d.FeedMessage(beacon(i)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := d.Stat("records_in")
	ev := marshal(t, beacon(3))
	err := d.FeedEvent(ev)
	var e *t1071.Error
	if !errors.Is(err, t1071.ErrQueueFull) || !errors.As(err, &e) || e.Detail == "" {
		t.Fatalf("FeedEvent on a full queue: %v", err)
	}
	if err := d.FeedJSON([]byte(`{"@timestamp":"2024-01-01T01:00:00Z"}`)); !errors.Is(err, t1071.ErrQueueFull) {
		t.Fatalf("FeedJSON: %v", err)
	}
	if err := d.Advance(math.MaxInt64); !errors.Is(err, t1071.ErrQueueFull) {
		t.Fatalf("Advance: %v", err)
	}
	if n, err := d.FeedBatch(t1071.AppendDelimited(nil, ev)); n != 0 || !errors.Is(err, t1071.ErrQueueFull) {
		t.Fatalf("FeedBatch: %d, %v", n, err)
	}
	after, _ := d.Stat("records_in")
	if after != before {
		t.Errorf("records_in moved from %d to %d: a refused event was consumed", before, after)
	}
	if n, _ := d.Stat("queue_full_refusals"); n != 4 {
		t.Errorf("queue_full_refusals = %d, want 4", n)
	}
	if a := poll(t, d); len(a) != 2 {
		t.Fatalf("polled %d alerts, want 2", len(a))
	}
	if err := d.FeedEvent(ev); err != nil {
		t.Fatal(err)
	}
	a := poll(t, d)
	if len(a) != 1 || a[0].Members[1].GetEventId() != "E1-03" {
		t.Fatalf("after retry: %v", a)
	}
}

func TestQueueFullBatchResume(t *testing.T) {
	var events []*ecsv1.Event
	for i := 0; i < 30; i++ {
		events = append(events, beacon(i))
	}
	batch, _ := t1071.EncodeBatch(events...)
	d := mustNew(t, map[string]string{"engine.alert_queue": "3"})
	var ids []string
	refusals := 0
	for off := 0; off < len(batch); {
		n, err := d.FeedBatch(batch[off:])
		off += n
		if errors.Is(err, t1071.ErrQueueFull) {
			refusals++
			if n == 0 {
				t.Fatal("no progress")
			}
		} else if err != nil {
			t.Fatal(err)
		}
		for _, a := range poll(t, d) {
			ids = append(ids, a.Members[len(a.Members)-1].GetEventId())
		}
	}
	if refusals == 0 {
		t.Error("queue never filled")
	}
	var want []string
	for i := 9; i < 30; i++ {
		want = append(want, fmt.Sprintf("E1-%02d", i))
	}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
}

// ===== Bad input =====

func TestBadInput(t *testing.T) {
	d := mustNew(t, map[string]string{"engine.max_event_bytes": "64"})
	noTS := &ecsv1.Event{EventId: proto.String("no-ts"), HostName: proto.String("h1")}
	big := beacon(0)
	big.UrlFull = proto.String("http://x/" + strings.Repeat("a", 100))
	cases := []struct {
		name string
		feed func() error
		want t1071.Status
		stat string
	}{
		{"json", func() error { return d.FeedJSON([]byte(`{"@timestamp": `)) }, t1071.ErrJSON, "errors_json"},
		{"json-array", func() error { return d.FeedJSON([]byte(`[1]`)) }, t1071.ErrJSON, "errors_json"},
		{"protobuf", func() error { return d.FeedEvent([]byte{0x0a, 0xff, 0xff}) }, t1071.ErrDecode, "errors_decode"},
		{"no-timestamp", func() error { return d.FeedMessage(noTS) }, t1071.ErrTimestamp, "errors_timestamp"},
		{"bad-timestamp", func() error { return d.FeedJSON([]byte(`{"@timestamp":"yesterday"}`)) }, t1071.ErrTimestamp, "errors_timestamp"},
		{"too-large", func() error { return d.FeedMessage(big) }, t1071.ErrTooLarge, "errors_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := d.Stat(c.stat)
			err := c.feed()
			if !errors.Is(err, c.want) || !t1071.IsBadInput(err) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if after, _ := d.Stat(c.stat); after != before+1 {
				t.Errorf("%s: %d -> %d", c.stat, before, after)
			}
		})
	}
	// Still usable.
	if err := d.FeedJSON([]byte(`{"@timestamp":"2024-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
}

func TestBatchTruncated(t *testing.T) {
	d := mustNew(t, nil)
	var batch []byte
	for i := 0; i < 3; i++ {
		batch = t1071.AppendDelimited(batch, marshal(t, beacon(i)))
	}
	n, err := d.FeedBatch(append(append([]byte(nil), batch...), 0x20, 1, 2))
	if !errors.Is(err, t1071.ErrTruncated) || n != len(batch) {
		t.Fatalf("got %d, %v; want %d, ErrTruncated", n, err, len(batch))
	}
	if v, _ := d.Stat("events_decoded"); v != 3 {
		t.Errorf("events_decoded = %d", v)
	}
	// A bad record inside a stream is skipped and counted.
	good := marshal(t, beacon(3))
	s := t1071.AppendDelimited(t1071.AppendDelimited(t1071.AppendDelimited(nil, good), []byte{0x0a, 0xff, 0xff}), good)
	if n, err := d.FeedBatch(s); err != nil || n != len(s) {
		t.Fatalf("got %d, %v", n, err)
	}
	if v, _ := d.Stat("errors_decode"); v != 1 {
		t.Errorf("errors_decode = %d", v)
	}
}

func TestConfig(t *testing.T) {
	cfg, err := t1071.NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if v, _ := cfg.Get("rule.runs"); v != "10" {
		t.Errorf("rule.runs = %q", v)
	}
	err = cfg.Set("rule.nope", "1")
	var e *t1071.Error
	if !errors.Is(err, t1071.ErrUnknownKey) || !errors.As(err, &e) || !strings.Contains(e.Detail, "rule.nope") {
		t.Errorf("unknown key: %v", err)
	}
	if err := cfg.Set("rule.runs", "many"); !errors.Is(err, t1071.ErrInvalidArg) {
		t.Errorf("bad value: %v", err)
	}
	if err := cfg.LoadFile(filepath.Join(t.TempDir(), "missing.ini")); !errors.Is(err, t1071.ErrIO) {
		t.Errorf("missing file: %v", err)
	}
	if err := cfg.LoadData([]byte("[rule]\nruns = 3\n")); err != nil {
		t.Fatal(err)
	}
	long := strings.TrimSuffix(strings.Repeat("10.0.0.0/8,", 40), ",")
	if err := cfg.Set("rule.exclude_cidrs", long); err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg.Get("rule.exclude_cidrs"); strings.Count(v, "/8") != 40 {
		t.Errorf("exclude_cidrs = %q", v)
	}
	d, err := t1071.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cfg.Close() // the Detector has its copy
	for i := 0; i < 4; i++ {
		if err := d.FeedMessage(beacon(i)); err != nil {
			t.Fatal(err)
		}
	}
	if a := poll(t, d); len(a) != 2 || len(a[0].Members) != 3 {
		t.Errorf("runs=3: %d alerts", len(a))
	}
	if err := cfg.Set("rule.runs", "1"); !errors.Is(err, t1071.ErrState) {
		t.Errorf("closed config: %v", err)
	}
}

func TestClosed(t *testing.T) {
	d, _ := t1071.New(nil)
	d.Close()
	d.Close()
	if err := d.FeedJSON([]byte("{}")); !errors.Is(err, t1071.ErrState) {
		t.Errorf("FeedJSON on closed: %v", err)
	}
	if _, err := d.PollAlerts(); !errors.Is(err, t1071.ErrState) {
		t.Errorf("PollAlerts on closed: %v", err)
	}
}

// ===== Stats, JSON output, shards, concurrency =====

func TestStats(t *testing.T) {
	names := t1071.StatNames()
	pinned := []string{"records_in", "events_decoded", "events_matched", "events_filtered",
		"events_no_key", "errors_decode", "errors_too_large", "errors_truncated", "errors_json",
		"errors_timestamp", "malformed_ips", "events_late", "events_suspect_future",
		"events_suspect_dropped", "queue_full_refusals", "alerts_emitted", "alerts_polled",
		"alerts_queued", "keys_tracked", "hosts_tracked", "events_buffered", "keys_expired",
		"memory_bytes", "memory_peak_bytes", "keys_evicted", "events_dropped_memory",
		"key_values_dropped", "alerts_suppressed", "lateness_max_ms"}
	if len(names) < len(pinned) || !reflect.DeepEqual(names[:len(pinned)], pinned) {
		t.Fatalf("stat names %v", names)
	}
	d := mustNew(t, nil)
	for i := 0; i < 12; i++ {
		if err := d.FeedMessage(beacon(i)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != len(names) || st["events_matched"] != 12 || st["alerts_queued"] != 3 || st["hosts_tracked"] != 1 {
		t.Errorf("stats %v", st)
	}
	if _, err := d.Stat("nope"); !errors.Is(err, t1071.ErrRange) {
		t.Errorf("Stat(nope): %v", err)
	}
	// A late event (default lateness 0s) is counted, and the gauge gives
	// the engine.lateness that would have kept it.
	if err := d.FeedMessage(beacon(3)); err != nil {
		t.Fatal(err)
	}
	if late, _ := d.Stat("events_late"); late != 1 {
		t.Errorf("events_late %d", late)
	}
	if lat, _ := d.Stat("lateness_max_ms"); lat != 8*60000 {
		t.Errorf("lateness_max_ms %d", lat)
	}
	js, err := d.PollAlertsJSON()
	if err != nil || len(js) != 3 {
		t.Fatalf("%d, %v", len(js), err)
	}
	var doc struct {
		T1071 struct {
			EventIDs []string `json:"event_ids"`
		} `json:"t1071"`
	}
	if err := json.Unmarshal([]byte(js[2]), &doc); err != nil || doc.T1071.EventIDs[9] != "E1-11" {
		t.Errorf("alert JSON %s: %v", js[2], err)
	}
	if v, _ := d.Stat("alerts_polled"); v != 3 {
		t.Errorf("alerts_polled = %d", v)
	}
}

func TestEventShard(t *testing.T) {
	a := beacon(0)
	b := beacon(9)
	sa, err := t1071.EventShard(marshal(t, a), 8)
	if err != nil {
		t.Fatal(err)
	}
	if sb, _ := t1071.EventShard(marshal(t, b), 8); sa != sb {
		t.Errorf("same host, shards %d and %d", sa, sb)
	}
	if _, err := t1071.EventShard(marshal(t, a), 0); !errors.Is(err, t1071.ErrInvalidArg) {
		t.Errorf("0 shards: %v", err)
	}
	if _, err := t1071.EventShard([]byte{0x0a, 0xff}, 4); !errors.Is(err, t1071.ErrDecode) {
		t.Errorf("bad event: %v", err)
	}
}

// Detectors on several goroutines, events spread by host shard: together
// they find what one finds.
func TestShardedGoroutines(t *testing.T) {
	const shards = 4
	var events [][]byte
	for h := 0; h < 8; h++ {
		for i := 0; i < 12; i++ {
			ev := beacon(i)
			ev.HostName = proto.String(fmt.Sprintf("host-%d", h))
			ev.ProcessEntityId = []string{fmt.Sprintf("P%d", h)}
			events = append(events, marshal(t, ev))
		}
	}
	per := make([][][]byte, shards)
	for _, ev := range events {
		s, err := t1071.EventShard(ev, shards)
		if err != nil {
			t.Fatal(err)
		}
		per[s] = append(per[s], ev)
	}
	var wg sync.WaitGroup
	counts := make([]int, shards)
	errs := make([]error, shards)
	for s := 0; s < shards; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			d, err := t1071.New(nil)
			if err != nil {
				errs[s] = err
				return
			}
			defer d.Close()
			for _, ev := range per[s] {
				if err := d.FeedEvent(ev); err != nil {
					errs[s] = err
					return
				}
			}
			if err := d.Flush(); err != nil {
				errs[s] = err
				return
			}
			a, err := d.PollAlerts()
			counts[s], errs[s] = len(a), err
		}(s)
	}
	wg.Wait()
	total := 0
	for s := 0; s < shards; s++ {
		if errs[s] != nil {
			t.Fatal(errs[s])
		}
		total += counts[s]
	}
	if total != 8*3 {
		t.Errorf("%d alerts, want %d", total, 8*3)
	}
}

func TestVersion(t *testing.T) {
	n := t1071.VersionNumber()
	if want := fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100); t1071.Version() != want {
		t.Errorf("Version %q, number %d", t1071.Version(), n)
	}
	if t1071.ErrQueueFull.Error() == "unknown error" || t1071.Status(-999).Error() != "unknown error" {
		t.Error("strerror")
	}
}

// The generated ecsv1 package is proto/t1071/ecs/v1/ecs.proto as protoc
// reads it today.
func TestGeneratedMatchesProto(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc not installed")
	}
	out := filepath.Join(t.TempDir(), "ecs.pb")
	cmd := exec.Command(protoc, "-I", filepath.Join(sourceDir(), "proto"),
		"--descriptor_set_out="+out, "t1071/ecs/v1/ecs.proto")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, msg)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	want := set.File[0]
	got := protodesc.ToFileDescriptorProto(ecsv1.File_t1071_ecs_v1_ecs_proto)
	got.Options = nil // go_package, given on the protoc-gen-go command line
	if !proto.Equal(got, want) {
		t.Errorf("ecsv1 is stale: run go generate ./...\n got %v\nwant %v", got, want)
	}
}

// Every alert carries the beacon verdict (Alert.Beacon, Alert.Tuning);
// tuning.suppress_period suppresses and counts.
func TestBeaconVerdict(t *testing.T) {
	d, err := t1071.NewWith(map[string]string{"engine.hash_seed": "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	alerts := replay(t, d, 12, func(i int) error { return d.FeedMessage(beacon(i)) })
	if len(alerts) != 3 {
		t.Fatalf("%d alerts", len(alerts))
	}
	for _, a := range alerts {
		b := a.GetBeacon()
		if b == nil || b.GetScore() < 0 || b.GetScore() > 1 || b.GetPeriodMs() <= 0 {
			t.Fatalf("beacon %v", b)
		}
		if a.GetTuning() == nil || a.GetTuning().GetSuppressed() || a.GetTuning().GetSequences() != 1 {
			t.Fatalf("tuning %v", a.GetTuning())
		}
	}
	s, err := t1071.NewWith(map[string]string{"tuning.suppress_period": "1h"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := replay(t, s, 12, func(i int) error { return s.FeedMessage(beacon(i)) }); len(got) != 1 {
		t.Fatalf("%d alerts with suppress_period", len(got))
	}
	if n, _ := s.Stat("alerts_suppressed"); n != 2 {
		t.Fatalf("alerts_suppressed %d", n)
	}
}

// Raw Sysmon (NXLog) is read as Sysmon; EventFromJSONAs forces a shape.
func TestEventFromJSONAs(t *testing.T) {
	line := []byte(`{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational",` +
		`"Hostname":"WS5","UtcTime":"2020-10-09 22:27:50.747","Image":"C:\\x\\a.exe",` +
		`"ProcessGuid":"{g}","Initiated":"true","Protocol":"tcp","DestinationIp":"8.8.8.8",` +
		`"DestinationPort":"443","@timestamp":"2020-10-09T22:30:08.595Z"}`)
	for _, c := range []struct {
		source, shape string
		ts            int64
	}{{"auto", "sysmon", 1602282470747}, {"ecs", "", 1602282608595}} {
		raw, err := t1071.EventFromJSONAs(line, 0, c.source)
		if err != nil {
			t.Fatal(err)
		}
		var ev ecsv1.Event
		if err := proto.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetInputShape() != c.shape || ev.GetTimestampMs() != c.ts {
			t.Fatalf("%s: input_shape %q timestamp %d", c.source, ev.GetInputShape(), ev.GetTimestampMs())
		}
	}
	if _, err := t1071.EventFromJSONAs(line, 0, "netflow"); !errors.Is(err, t1071.ErrInvalidArg) {
		t.Fatalf("unknown source: %v", err)
	}
}

// KeyHistory (t1071_key_history): the key's intervals and verdict, the
// same reading as the alert; an unknown key is ErrRange.
func TestKeyHistory(t *testing.T) {
	d, err := t1071.NewWith(map[string]string{"engine.hash_seed": "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var alerts []*ecsv1.Alert
	for i := 0; i < 12; i++ {
		if err := d.FeedMessage(beacon(i)); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, poll(t, d)...)
	}
	if len(alerts) == 0 {
		t.Fatal("no alerts")
	}
	js, err := d.KeyHistory("E1")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Key    string `json:"key"`
		Beacon struct {
			Destinations []struct {
				Destination string            `json:"destination"`
				Intervals   []uint32          `json:"intervals_ms"`
				Readings    map[string]string `json:"readings"`
			} `json:"destinations"`
		} `json:"beacon"`
	}
	if err := json.Unmarshal(js, &h); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	if h.Key != "E1" || len(h.Beacon.Destinations) != 1 ||
		h.Beacon.Destinations[0].Destination != "8.8.8.8:443" ||
		len(h.Beacon.Destinations[0].Intervals) != 11 || h.Beacon.Destinations[0].Intervals[0] != 60000 {
		t.Fatalf("history %s", js)
	}
	if last := alerts[len(alerts)-1].GetBeacon().GetReading(); last == "" ||
		last != h.Beacon.Destinations[0].Readings["summary"] {
		t.Fatalf("alert reading %q, history %q", last, h.Beacon.Destinations[0].Readings["summary"])
	}
	if _, err := d.KeyHistory("nope"); !errors.Is(err, t1071.ErrRange) {
		t.Fatalf("unknown key: %v", err)
	}
}
