// SPDX-License-Identifier: Apache-2.0

// Package t1071detect binds libt1071detect, the T1071 C2-beaconing detector
// (Elastic Security's T1071 EQL rule over a stream of ECS network events),
// with cgo.
//
//	det, err := t1071detect.New(nil) // nil: the default rule
//	if err != nil { ... }
//	defer det.Close()
//	for _, line := range lines {
//		err := det.FeedJSON(line)
//		if errors.Is(err, t1071detect.ErrQueueFull) {
//			// poll below, then feed the same line again
//		}
//		alerts, _ := det.PollAlerts() // []*ecsv1.Alert
//		...
//	}
//	det.Flush() // end of input
//
// To checkpoint mid-stream (before Flush) and resume later or elsewhere:
//
//	state, err := det.Snapshot() // []byte: all of its state
//	det2, err := t1071detect.Restore(state)
//
// Build: cgo finds the library with pkg-config (libt1071detect).  For a
// meson build tree, PKG_CONFIG_PATH=BUILD/meson-uninstalled and, to run,
// LD_LIBRARY_PATH=BUILD/lib.
//
// A Detector serialises its calls with a mutex, so it may be shared by
// goroutines; for parallelism use one Detector per goroutine and EventShard.
package t1071detect

/*
#cgo pkg-config: libt1071detect
#cgo CFLAGS: -I${SRCDIR}/../../include
#include <stdlib.h>
#include <t1071/t1071detect.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"github.com/t1071detect/t1071detect-go/ecsv1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// ===== Errors =====

// Status is a T1071_E_* status code.  The Err* values are Statuses; every
// error this package returns for a failed call is an *Error wrapping one,
// so test with errors.Is(err, t1071detect.ErrQueueFull).
type Status int

// The T1071_E_* codes (values pinned by the C header).
const (
	ErrInvalidArg  Status = C.T1071_E_INVALID_ARG // NULL pointer, bad value, out of range
	ErrNoMem       Status = C.T1071_E_NOMEM       // allocation failed or memory cap reached
	ErrDecode      Status = C.T1071_E_DECODE      // malformed protobuf event
	ErrTooLarge    Status = C.T1071_E_TOO_LARGE   // event longer than engine.max_event_bytes
	ErrTruncated   Status = C.T1071_E_TRUNCATED   // length-delimited stream cut inside a record
	ErrQueueFull   Status = C.T1071_E_QUEUE_FULL  // alert queue full: poll, then retry
	ErrState       Status = C.T1071_E_STATE       // call not valid in this state
	ErrUnknownKey  Status = C.T1071_E_UNKNOWN_KEY // unknown configuration key
	ErrTimestamp   Status = C.T1071_E_TIMESTAMP   // no @timestamp, or an absurd one
	ErrIO          Status = C.T1071_E_IO          // a file could not be read
	ErrJSON        Status = C.T1071_E_JSON        // malformed or hostile JSON
	ErrRange       Status = C.T1071_E_RANGE       // index out of range
	ErrSnapshot    Status = C.T1071_E_SNAPSHOT    // snapshot truncated, corrupted or inconsistent
	ErrVersion     Status = C.T1071_E_VERSION     // snapshot written by a newer format version
	ErrRule        Status = C.T1071_E_RULE        // rule text does not parse or uses unsupported syntax
	ErrUnsupported Status = C.T1071_E_UNSUPPORTED // not supported in this configuration
)

// SnapshotVersion is the snapshot format version the library this package
// was compiled against writes (T1071_SNAPSHOT_VERSION).
const SnapshotVersion = C.T1071_SNAPSHOT_VERSION

// Error is the library's t1071_strerror() text for the status.
func (s Status) Error() string { return C.GoString(C.t1071_strerror(C.int(s))) }

// Error is a failed call: its status, the operation, and the context's or
// config's own message (t1071_errmsg / t1071_config_errmsg; may be empty).
type Error struct {
	Status Status
	Op     string // "FeedEvent", "Config.Set", ...
	Detail string
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("t1071detect: %s: %s: %s", e.Op, e.Status.Error(), e.Detail)
	}
	return fmt.Sprintf("t1071detect: %s: %s", e.Op, e.Status.Error())
}

// Unwrap returns the Status, for errors.Is.
func (e *Error) Unwrap() error { return e.Status }

func newError(rc C.int, op, detail string) error {
	return &Error{Status: Status(rc), Op: op, Detail: detail}
}

// ErrClosed is returned by calls on a closed Detector or Config.
var ErrClosed = &Error{Status: ErrState, Op: "use", Detail: "closed"}

// ===== Helpers =====

// bytesArg gives C a pointer to b's storage for the duration of one call
// (the library never keeps it).  cgo allows passing Go memory without Go
// pointers in it.
func bytesArg(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

func charsArg(b []byte) (*C.char, C.size_t) {
	p, n := bytesArg(b)
	return (*C.char)(unsafe.Pointer(p)), n
}

// Version is the runtime library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.t1071_version_string()) }

// VersionNumber is the runtime library's MAJOR*10000 + MINOR*100 + PATCH.
func VersionNumber() int { return int(C.t1071_version_number()) }

var statNames struct {
	once  sync.Once
	names []string
}

// StatNames lists every counter and gauge the library has, in id order
// (t1071_stat_name from 0 until NULL).
func StatNames() []string {
	statNames.once.Do(func() {
		for i := 0; ; i++ {
			s := C.t1071_stat_name(C.int(i))
			if s == nil {
				break
			}
			statNames.names = append(statNames.names, C.GoString(s))
		}
	})
	return append([]string(nil), statNames.names...)
}

// ===== Config =====

// Config holds the rule and engine settings.  NewConfig gives the defaults
// (Elastic's T1071 rule, faithful profile).  Not safe for concurrent use.
type Config struct {
	p *C.t1071_config
}

// NewConfig returns the default configuration.  Close it when done (a
// finalizer does it otherwise).
func NewConfig() (*Config, error) {
	var p *C.t1071_config
	if rc := C.t1071_config_new(&p); rc != C.T1071_OK {
		return nil, newError(rc, "NewConfig", "")
	}
	c := &Config{p: p}
	runtime.SetFinalizer(c, (*Config).Close)
	return c, nil
}

func (c *Config) fail(rc C.int, op string) error {
	return newError(rc, op, C.GoString(C.t1071_config_errmsg(c.p)))
}

// Set sets one value by its "section.key" name, e.g. Set("rule.runs", "10").
// On error the config is unchanged and the error's Detail says why.
func (c *Config) Set(key, value string) error {
	if c == nil || c.p == nil {
		return ErrClosed
	}
	ck, cv := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	if rc := C.t1071_config_set(c.p, ck, cv); rc != C.T1071_OK {
		return c.fail(rc, "Config.Set")
	}
	return nil
}

// SetRule runs a rule given as text instead of the built-in one: an EQL
// sequence query or a Sigma correlation rule, told apart by content.  The
// rule decides rule.runs, rule.maxspan and rule.key; "" goes back to the
// built-in rule.  It removes rules added with AddRule.  A rule the library
// does not run gives ErrRule, whose message names line and column.
func (c *Config) SetRule(text string) error {
	if c == nil || c.p == nil {
		return ErrClosed
	}
	ct := C.CString(text)
	defer C.free(unsafe.Pointer(ct))
	if rc := C.t1071_config_set_rule(c.p, ct); rc != C.T1071_OK {
		return c.fail(rc, "Config.SetRule")
	}
	return nil
}

// AddRule runs one more rule beside the config's own, in the same
// detector; its alerts carry name (empty: a Sigma rule's title, else
// "rule N").
func (c *Config) AddRule(name, text string) error {
	if c == nil || c.p == nil {
		return ErrClosed
	}
	ct := C.CString(text)
	defer C.free(unsafe.Pointer(ct))
	var cn *C.char
	if name != "" {
		cn = C.CString(name)
		defer C.free(unsafe.Pointer(cn))
	}
	if rc := C.t1071_config_add_rule(c.p, cn, ct); rc != C.T1071_OK {
		return c.fail(rc, "Config.AddRule")
	}
	return nil
}

// RuleCount is how many rules a detector made from this config runs.
func (c *Config) RuleCount() int {
	if c == nil || c.p == nil {
		return 0
	}
	return int(C.t1071_config_rule_count(c.p))
}

// Get reads a value back in its canonical text form.
func (c *Config) Get(key string) (string, error) {
	if c == nil || c.p == nil {
		return "", ErrClosed
	}
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	var needed C.size_t
	if rc := C.t1071_config_get(c.p, ck, nil, 0, &needed); rc != C.T1071_OK {
		return "", c.fail(rc, "Config.Get")
	}
	buf := (*C.char)(C.malloc(needed + 1))
	defer C.free(unsafe.Pointer(buf))
	if rc := C.t1071_config_get(c.p, ck, buf, needed+1, &needed); rc != C.T1071_OK {
		return "", c.fail(rc, "Config.Get")
	}
	return C.GoString(buf), nil
}

// LoadFile applies an INI file ([section] then key = value).
func (c *Config) LoadFile(path string) error {
	if c == nil || c.p == nil {
		return ErrClosed
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	if rc := C.t1071_config_load_file(c.p, cp); rc != C.T1071_OK {
		return c.fail(rc, "Config.LoadFile")
	}
	return nil
}

// LoadData applies INI text.
func (c *Config) LoadData(ini []byte) error {
	if c == nil || c.p == nil {
		return ErrClosed
	}
	p, n := charsArg(ini)
	if rc := C.t1071_config_load_data(c.p, p, n); rc != C.T1071_OK {
		return c.fail(rc, "Config.LoadData")
	}
	return nil
}

// Close frees the config; a Detector made from it keeps its own copy.
func (c *Config) Close() {
	if c != nil && c.p != nil {
		C.t1071_config_free(c.p)
		c.p = nil
		runtime.SetFinalizer(c, nil)
	}
}

// ===== Detector =====

// Detector is one detection context.
//
// Backpressure: while the library's alert queue holds engine.alert_queue
// alerts or more, FeedEvent, FeedJSON, FeedBatch and Advance return an
// error wrapping ErrQueueFull and consume nothing: call PollAlerts, then
// feed the same input again (FeedBatch: the rest after the bytes it
// reports consumed).  Nothing is lost.
//
// Bad input (ErrDecode, ErrTooLarge, ErrTimestamp, ErrJSON) is consumed,
// counted and dropped; the Detector stays usable.
type Detector struct {
	mu sync.Mutex
	p  *C.t1071_ctx
}

// New creates a Detector.  cfg is copied (nil: the defaults).  Close it when
// done (a finalizer does it otherwise).
func New(cfg *Config) (*Detector, error) {
	var cp *C.t1071_config
	if cfg != nil {
		if cfg.p == nil {
			return nil, ErrClosed
		}
		cp = cfg.p
	}
	var p *C.t1071_ctx
	rc := C.t1071_init(&p, cp)
	runtime.KeepAlive(cfg)
	if rc != C.T1071_OK {
		return nil, newError(rc, "New", "")
	}
	d := &Detector{p: p}
	runtime.SetFinalizer(d, (*Detector).Close)
	return d, nil
}

// NewWith creates a Detector from "section.key" settings over the defaults.
func NewWith(settings map[string]string) (*Detector, error) {
	cfg, err := NewConfig()
	if err != nil {
		return nil, err
	}
	defer cfg.Close()
	for k, v := range settings {
		if err := cfg.Set(k, v); err != nil {
			return nil, err
		}
	}
	return New(cfg)
}

func (d *Detector) fail(rc C.int, op string) error {
	return newError(rc, op, C.GoString(C.t1071_errmsg(d.p)))
}

// FeedEvent feeds one protobuf-encoded t1071.ecs.v1.Event.
func (d *Detector) FeedEvent(event []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return ErrClosed
	}
	p, n := bytesArg(event)
	if rc := C.t1071_feed_event(d.p, p, n); rc != C.T1071_OK {
		return d.fail(rc, "FeedEvent")
	}
	return nil
}

// FeedMessage encodes ev with Go protobuf and feeds it.
func (d *Detector) FeedMessage(ev *ecsv1.Event) error {
	b, err := proto.Marshal(ev)
	if err != nil {
		return err
	}
	return d.FeedEvent(b)
}

// FeedBatch feeds a length-delimited stream of Events (each preceded by its
// varint length) and returns the bytes consumed (whole records).  On
// ErrQueueFull poll, then feed batch[consumed:]; on ErrTruncated the last
// record is cut at consumed.  Records whose bytes are bad are skipped and
// counted, not reported.
func (d *Detector) FeedBatch(batch []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return 0, ErrClosed
	}
	p, n := bytesArg(batch)
	var consumed C.size_t
	if rc := C.t1071_feed_batch(d.p, p, n, &consumed); rc != C.T1071_OK {
		return int(consumed), d.fail(rc, "FeedBatch")
	}
	return int(consumed), nil
}

// FeedJSON feeds one ECS JSON event (one NDJSON line).
func (d *Detector) FeedJSON(line []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return ErrClosed
	}
	p, n := charsArg(line)
	if rc := C.t1071_feed_json(d.p, p, n); rc != C.T1071_OK {
		return d.fail(rc, "FeedJSON")
	}
	return nil
}

// FeedMsgpack feeds one event given as a msgpack map (a Fluent Bit record's
// body, say), read exactly as FeedJSON reads the same record as JSON.
func (d *Detector) FeedMsgpack(m []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return ErrClosed
	}
	p, n := bytesArg(m)
	if rc := C.t1071_feed_msgpack(d.p, unsafe.Pointer(p), n); rc != C.T1071_OK {
		return d.fail(rc, "FeedMsgpack")
	}
	return nil
}

// Advance declares that no event at or before eventTimeMs (ms since the
// epoch) will come from any host: buffered events up to it run.
func (d *Detector) Advance(eventTimeMs int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return ErrClosed
	}
	if rc := C.t1071_advance(d.p, C.int64_t(eventTimeMs)); rc != C.T1071_OK {
		return d.fail(rc, "Advance")
	}
	return nil
}

// Flush is Advance(math.MaxInt64): end of input, every buffered event runs.
func (d *Detector) Flush() error { return d.Advance(math.MaxInt64) }

// poll takes every queued alert and calls fn on each one's borrowed bytes.
func (d *Detector) poll(op string, asJSON bool, fn func(b []byte) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return ErrClosed
	}
	var batch *C.t1071_alert_batch
	if rc := C.t1071_poll_alerts(d.p, &batch); rc != C.T1071_OK {
		return d.fail(rc, op)
	}
	defer C.t1071_alert_batch_free(batch)
	count := C.t1071_alert_batch_count(batch)
	for i := C.size_t(0); i < count; i++ {
		var data unsafe.Pointer
		var n C.size_t
		var rc C.int
		if asJSON {
			var js *C.char
			rc = C.t1071_alert_batch_get_json(batch, i, &js, &n)
			data = unsafe.Pointer(js)
		} else {
			var pb *C.uint8_t
			rc = C.t1071_alert_batch_get(batch, i, &pb, &n)
			data = unsafe.Pointer(pb)
		}
		if rc != C.T1071_OK {
			return newError(rc, op, "")
		}
		if err := fn(C.GoBytes(data, C.int(n))); err != nil {
			return err
		}
	}
	return nil
}

// PollAlerts takes every queued alert, decoded (nil when there is none).
func (d *Detector) PollAlerts() ([]*ecsv1.Alert, error) {
	var out []*ecsv1.Alert
	err := d.poll("PollAlerts", false, func(b []byte) error {
		a := &ecsv1.Alert{}
		if err := proto.Unmarshal(b, a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// PollAlertsRaw takes every queued alert as protobuf Alert bytes.
func (d *Detector) PollAlertsRaw() ([][]byte, error) {
	var out [][]byte
	err := d.poll("PollAlertsRaw", false, func(b []byte) error {
		out = append(out, b)
		return nil
	})
	return out, err
}

// PollAlertsJSON takes every queued alert as one line of ECS JSON each
// (Elastic Security's alert shape, no newline).
func (d *Detector) PollAlertsJSON() ([]string, error) {
	var out []string
	err := d.poll("PollAlertsJSON", true, func(b []byte) error {
		out = append(out, string(b))
		return nil
	})
	return out, err
}

// Stats reads every counter and gauge, by name (see StatNames).
func (d *Detector) Stats() (map[string]uint64, error) {
	names := StatNames()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return nil, ErrClosed
	}
	out := make(map[string]uint64, len(names))
	for i, name := range names {
		var v C.uint64_t
		if rc := C.t1071_stats_get(d.p, C.int(i), &v); rc != C.T1071_OK {
			return nil, newError(rc, "Stats", name)
		}
		out[name] = uint64(v)
	}
	return out, nil
}

// Stat reads one counter or gauge by name.
func (d *Detector) Stat(name string) (uint64, error) {
	for i, n := range StatNames() {
		if n != name {
			continue
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.p == nil {
			return 0, ErrClosed
		}
		var v C.uint64_t
		if rc := C.t1071_stats_get(d.p, C.int(i), &v); rc != C.T1071_OK {
			return 0, newError(rc, "Stat", name)
		}
		return uint64(v), nil
	}
	return 0, &Error{Status: ErrRange, Op: "Stat", Detail: "no stat " + name}
}

// Snapshot returns all of the Detector's state (t1071_snapshot): config,
// hash seed, sequence state, reorder buffers, held suspects, alerts not yet
// polled, counters.  Restore of it goes on exactly: the same later input
// gives the same alerts.  The blob is versioned and checksummed, not
// encrypted: it holds event data.
func (d *Detector) Snapshot() ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return nil, ErrClosed
	}
	var buf *C.t1071_buffer
	if rc := C.t1071_snapshot(d.p, &buf); rc != C.T1071_OK {
		return nil, d.fail(rc, "Snapshot")
	}
	defer C.t1071_buffer_free(buf)
	size := C.t1071_buffer_size(buf)
	if size == 0 {
		return []byte{}, nil
	}
	return C.GoBytes(unsafe.Pointer(C.t1071_buffer_data(buf)), C.int(size)), nil
}

// KeyHistory returns a tracked key's beacon history as JSON
// (t1071_key_history, README "Key history"): per destination and for the
// aggregate, beat starts, the intervals the scorer uses, hourly counts, the
// verdict and its one-line readings.  Take it when the key's alert is
// polled: an expired key gives an error wrapping ErrRange, a key without
// beacon state one wrapping ErrState.
func (d *Detector) KeyHistory(key string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return nil, ErrClosed
	}
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	var buf *C.t1071_buffer
	if rc := C.t1071_key_history(d.p, ck, C.size_t(len(key)), &buf); rc != C.T1071_OK {
		return nil, d.fail(rc, "KeyHistory")
	}
	defer C.t1071_buffer_free(buf)
	return C.GoBytes(unsafe.Pointer(C.t1071_buffer_data(buf)), C.int(C.t1071_buffer_size(buf))), nil
}

// Restore creates a Detector from Snapshot bytes (t1071_restore), with the
// snapshot's own config; data is only read during the call.  A truncated,
// corrupted or inconsistent snapshot gives an error wrapping ErrSnapshot,
// one written by a newer format version an error wrapping ErrVersion.
// Close the Detector when done (a finalizer does it otherwise).
func Restore(data []byte) (*Detector, error) {
	p, n := bytesArg(data)
	var ctx *C.t1071_ctx
	if rc := C.t1071_restore(&ctx, p, n); rc != C.T1071_OK {
		return nil, newError(rc, "Restore", fmt.Sprintf("%d-byte snapshot", len(data)))
	}
	d := &Detector{p: ctx}
	runtime.SetFinalizer(d, (*Detector).Close)
	return d, nil
}

// PrevalenceExport returns the prevalence entries changed after change
// number since (t1071_prevalence_export) as a delta, and the cursor to pass
// as since next time (one per receiver); since = 0 gives the whole table.
// Needs tuning.fleet_key and prevalence (ErrUnsupported otherwise).  See the
// top-level README, "Fleet prevalence across contexts".
func (d *Detector) PrevalenceExport(since uint64) ([]byte, uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return nil, 0, ErrClosed
	}
	var buf *C.t1071_buffer
	var cursor C.uint64_t
	if rc := C.t1071_prevalence_export(d.p, C.uint64_t(since), &buf, &cursor); rc != C.T1071_OK {
		return nil, 0, d.fail(rc, "PrevalenceExport")
	}
	defer C.t1071_buffer_free(buf)
	return C.GoBytes(unsafe.Pointer(C.t1071_buffer_data(buf)), C.int(C.t1071_buffer_size(buf))),
		uint64(cursor), nil
}

// PrevalenceMerge merges a PrevalenceExport delta of any Detector with the
// same tuning.fleet_key (t1071_prevalence_merge): commutative and
// idempotent, so deltas may come late, twice or reordered.  A corrupted,
// truncated or other-fleet delta gives an error wrapping ErrSnapshot and
// merges nothing.
func (d *Detector) PrevalenceMerge(delta []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return ErrClosed
	}
	p, n := bytesArg(delta)
	if rc := C.t1071_prevalence_merge(d.p, p, n); rc != C.T1071_OK {
		return d.fail(rc, "PrevalenceMerge")
	}
	return nil
}

// Close frees the context (alerts still queued in it are lost).
func (d *Detector) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p != nil {
		C.t1071_free(d.p)
		d.p = nil
		runtime.SetFinalizer(d, nil)
	}
}

// ===== Encoding helpers =====

// EventFromJSON converts one ECS JSON event to protobuf Event bytes exactly
// as FeedJSON reads it; recordNumber (when non-zero) names an event without
// event.id in alerts ("line:N").
func EventFromJSON(line []byte, recordNumber uint64) ([]byte, error) {
	p, n := charsArg(line)
	var buf *C.t1071_buffer
	if rc := C.t1071_event_from_json(p, n, C.uint64_t(recordNumber), &buf); rc != C.T1071_OK {
		return nil, newError(rc, "EventFromJSON", "")
	}
	defer C.t1071_buffer_free(buf)
	size := C.t1071_buffer_size(buf)
	if size == 0 {
		return []byte{}, nil
	}
	return C.GoBytes(unsafe.Pointer(C.t1071_buffer_data(buf)), C.int(size)), nil
}

// EventFromJSONAs is EventFromJSON reading the record as source, a value of
// the input.source config key: "auto" (each record's shape: ECS, Suricata
// EVE, raw Sysmon, Zeek conn JSON), "ecs", "sysmon", "zeek" or "suricata".
func EventFromJSONAs(line []byte, recordNumber uint64, source string) ([]byte, error) {
	p, n := charsArg(line)
	cs := C.CString(source)
	defer C.free(unsafe.Pointer(cs))
	var buf *C.t1071_buffer
	if rc := C.t1071_event_from_json_as(p, n, C.uint64_t(recordNumber), cs, &buf); rc != C.T1071_OK {
		return nil, newError(rc, "EventFromJSONAs", source)
	}
	defer C.t1071_buffer_free(buf)
	size := C.t1071_buffer_size(buf)
	if size == 0 {
		return []byte{}, nil
	}
	return C.GoBytes(unsafe.Pointer(C.t1071_buffer_data(buf)), C.int(size)), nil
}

// EventFromMsgpack converts one msgpack map to protobuf Event bytes exactly
// as FeedMsgpack reads it; source is as for EventFromJSONAs ("" reads each
// record's shape, as "auto" does).
func EventFromMsgpack(m []byte, recordNumber uint64, source string) ([]byte, error) {
	p, n := bytesArg(m)
	var cs *C.char
	if source != "" {
		cs = C.CString(source)
		defer C.free(unsafe.Pointer(cs))
	}
	var buf *C.t1071_buffer
	if rc := C.t1071_event_from_msgpack(unsafe.Pointer(p), n, C.uint64_t(recordNumber), cs, &buf); rc != C.T1071_OK {
		return nil, newError(rc, "EventFromMsgpack", source)
	}
	defer C.t1071_buffer_free(buf)
	size := C.t1071_buffer_size(buf)
	if size == 0 {
		return []byte{}, nil
	}
	return C.GoBytes(unsafe.Pointer(C.t1071_buffer_data(buf)), C.int(size)), nil
}

// EventShard returns the shard in [0, nshards) of an encoded event, by host.
func EventShard(event []byte, nshards uint32) (uint32, error) {
	p, n := bytesArg(event)
	var shard C.uint32_t
	if rc := C.t1071_event_shard(p, n, C.uint32_t(nshards), &shard); rc != C.T1071_OK {
		return 0, newError(rc, "EventShard", "")
	}
	return uint32(shard), nil
}

// AppendDelimited appends one encoded record to a length-delimited batch.
func AppendDelimited(batch, record []byte) []byte {
	batch = protowire.AppendVarint(batch, uint64(len(record)))
	return append(batch, record...)
}

// EncodeBatch marshals events into a length-delimited batch for FeedBatch.
func EncodeBatch(events ...*ecsv1.Event) ([]byte, error) {
	var out []byte
	for _, ev := range events {
		b, err := proto.Marshal(ev)
		if err != nil {
			return nil, err
		}
		out = AppendDelimited(out, b)
	}
	return out, nil
}

// IsBadInput reports whether err is about one bad event (consumed, counted,
// dropped: go on feeding) rather than about the call or the Detector.
func IsBadInput(err error) bool {
	return errors.Is(err, ErrDecode) || errors.Is(err, ErrTooLarge) ||
		errors.Is(err, ErrTimestamp) || errors.Is(err, ErrJSON)
}
