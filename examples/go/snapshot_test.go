// SPDX-License-Identifier: Apache-2.0

package t1071detect_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	t1071 "github.com/t1071detect/t1071detect-go"
	"github.com/t1071detect/t1071detect-go/ecsv1"
)

const (
	snapVector    = "h_edges_each"
	versionOffset = 8 // little-endian u32 after the 8-byte magic
)

var snapSettings = map[string]string{"engine.lateness": "5m"}

func mustFeedJSON(t *testing.T, d *t1071.Detector, lines [][]byte) {
	t.Helper()
	for i, l := range lines {
		if err := d.FeedJSON(l); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
}

func mustStats(t *testing.T, d *t1071.Detector) map[string]uint64 {
	t.Helper()
	st, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// counters drops the memory gauges, which a restore measures afresh.
func counters(st map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range st {
		if !strings.HasPrefix(k, "memory_") {
			out[k] = v
		}
	}
	return out
}

func mustRestore(t *testing.T, snap []byte) *t1071.Detector {
	t.Helper()
	d, err := t1071.Restore(snap)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// halfSnapshot feeds the first half of the vector and snapshots; with
// pollFirst it polls the alerts so far first (and returns them).
func halfSnapshot(t *testing.T, lines [][]byte, pollFirst bool) ([]*ecsv1.Alert, []byte) {
	t.Helper()
	d := mustNew(t, snapSettings)
	mustFeedJSON(t, d, lines[:len(lines)/2])
	var taken []*ecsv1.Alert
	if pollFirst {
		taken = poll(t, d)
	}
	snap, err := d.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return taken, snap
}

func TestSnapshotRestoreContinues(t *testing.T) {
	lines := vectorLines(t, snapVector)

	whole := mustNew(t, snapSettings)
	mustFeedJSON(t, whole, lines)
	if err := whole.Flush(); err != nil {
		t.Fatal(err)
	}
	wantAlerts := poll(t, whole)
	checkSeq(t, snapVector, wantAlerts)
	wantStats := mustStats(t, whole)

	for _, pollFirst := range []bool{false, true} {
		name := "queued-alerts"
		if pollFirst {
			name = "polled-alerts"
		}
		t.Run(name, func(t *testing.T) {
			taken, snap := halfSnapshot(t, lines, pollFirst)
			if !bytes.HasPrefix(snap, []byte("T1071SNP")) || snap[versionOffset] != t1071.SnapshotVersion {
				t.Fatalf("snapshot header % x", snap[:16])
			}
			if (len(taken) > 0) != pollFirst {
				t.Fatalf("%d alerts before the snapshot", len(taken))
			}
			d := mustRestore(t, snap)
			mustFeedJSON(t, d, lines[len(lines)/2:])
			if err := d.Advance(math.MaxInt64); err != nil {
				t.Fatal(err)
			}
			got := append(taken, poll(t, d)...)
			if !bytes.Equal(sequences(got), sequences(wantAlerts)) {
				t.Errorf("restored run\n%s\nuninterrupted\n%s", sequences(got), sequences(wantAlerts))
			}
			checkSeq(t, snapVector, got)
			st := mustStats(t, d)
			for _, k := range []string{"records_in", "events_decoded", "events_matched",
				"alerts_emitted", "events_late", "keys_expired"} {
				if st[k] != wantStats[k] {
					t.Errorf("%s = %d, uninterrupted %d", k, st[k], wantStats[k])
				}
			}
			if st["records_in"] != uint64(len(lines)) {
				t.Errorf("records_in = %d, want %d", st["records_in"], len(lines))
			}
		})
	}
}

// The config (here lateness=1h) and the reorder buffer come with the snapshot.
func TestSnapshotKeepsConfigAndBuffers(t *testing.T) {
	d := mustNew(t, map[string]string{"rule.runs": "3", "engine.lateness": "1h"})
	for _, i := range []int{2, 0} {
		if err := d.FeedMessage(beacon(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := mustStats(t, d)
	if before["events_buffered"] != 2 {
		t.Fatalf("events_buffered = %d", before["events_buffered"])
	}
	snap, err := d.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := mustRestore(t, snap)
	if st := mustStats(t, r); !reflect.DeepEqual(counters(st), counters(before)) {
		t.Errorf("restored stats %v, want %v", st, before)
	}
	if err := r.FeedMessage(beacon(1)); err != nil { // not late with lateness=1h
		t.Fatal(err)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	a := poll(t, r)
	if got := sequences(a); string(got) != `["E1-00","E1-01","E1-02"]`+"\n" {
		t.Errorf("alerts %s", got)
	}
	// A restored Detector snapshots and restores in turn.
	snap2, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r2 := mustRestore(t, snap2)
	if !reflect.DeepEqual(counters(mustStats(t, r2)), counters(mustStats(t, r))) {
		t.Error("second restore: stats differ")
	}
}

func TestSnapshotCorrupt(t *testing.T) {
	_, snap := halfSnapshot(t, vectorLines(t, snapVector), false)
	check := func(t *testing.T, data []byte, want t1071.Status) {
		t.Helper()
		d, err := t1071.Restore(data)
		var e *t1071.Error
		if d != nil || !errors.Is(err, want) || !errors.As(err, &e) || e.Op != "Restore" {
			t.Errorf("Restore: %v, %v; want %v", d, err, want)
		}
		if want == t1071.ErrVersion && errors.Is(err, t1071.ErrSnapshot) {
			t.Errorf("version error is also ErrSnapshot: %v", err)
		}
	}
	for _, n := range []int{0, 1, 8, 12, 47, 48, 49, len(snap) / 2, len(snap) - 1} {
		t.Run(fmt.Sprintf("truncated-%d", n), func(t *testing.T) {
			check(t, snap[:n], t1071.ErrSnapshot)
		})
	}
	check(t, nil, t1071.ErrSnapshot)
	for _, i := range []int{0, 12, 16, 47, 48, len(snap) / 2, len(snap) - 1} {
		t.Run(fmt.Sprintf("bitflip-%d", i), func(t *testing.T) {
			bad := append([]byte(nil), snap...)
			bad[i] ^= 0x10
			check(t, bad, t1071.ErrSnapshot)
		})
	}
	t.Run("trailing-byte", func(t *testing.T) {
		check(t, append(append([]byte(nil), snap...), 0), t1071.ErrSnapshot)
	})
	t.Run("newer-version", func(t *testing.T) {
		bad := append([]byte(nil), snap...)
		bad[versionOffset]++
		check(t, bad, t1071.ErrVersion)
		bad[versionOffset] = 0 // never written
		check(t, bad, t1071.ErrSnapshot)
	})
	// The original still restores: nothing above changed it.
	mustRestore(t, snap)
}

func TestSnapshotClosed(t *testing.T) {
	d, err := t1071.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := d.Snapshot(); !errors.Is(err, t1071.ErrState) {
		t.Errorf("Snapshot on closed: %v", err)
	}
	// A fresh Detector's snapshot restores to a fresh Detector.
	fresh := mustNew(t, nil)
	snap, err := fresh.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := mustRestore(t, snap)
	if st := mustStats(t, r); st["records_in"] != 0 {
		t.Errorf("records_in = %d", st["records_in"])
	}
}

// ===== Pinned status values and the new config key =====

func TestStatusPinned(t *testing.T) {
	pinned := []struct {
		s    t1071.Status
		code int
	}{
		{t1071.ErrInvalidArg, -1}, {t1071.ErrNoMem, -2}, {t1071.ErrDecode, -3},
		{t1071.ErrTooLarge, -4}, {t1071.ErrTruncated, -5}, {t1071.ErrQueueFull, -6},
		{t1071.ErrState, -7}, {t1071.ErrUnknownKey, -8}, {t1071.ErrTimestamp, -9},
		{t1071.ErrIO, -10}, {t1071.ErrJSON, -11}, {t1071.ErrRange, -12},
		{t1071.ErrSnapshot, -13}, {t1071.ErrVersion, -14},
		{t1071.ErrRule, -15}, {t1071.ErrUnsupported, -16},
	}
	for _, p := range pinned {
		if int(p.s) != p.code {
			t.Errorf("status %q = %d, want %d", p.s.Error(), int(p.s), p.code)
		}
		if p.s.Error() == "unknown error" {
			t.Errorf("status %d has no text", p.code)
		}
	}
	if !strings.Contains(t1071.ErrSnapshot.Error(), "snapshot") ||
		!strings.Contains(t1071.ErrVersion.Error(), "version") {
		t.Errorf("texts %q, %q", t1071.ErrSnapshot.Error(), t1071.ErrVersion.Error())
	}
	if t1071.Status(-17).Error() != "unknown error" {
		t.Errorf("-17: %q", t1071.Status(-17).Error())
	}
	if t1071.SnapshotVersion != 1 {
		t.Errorf("SnapshotVersion = %d", t1071.SnapshotVersion)
	}
}

func TestConfigMemoryLimit(t *testing.T) {
	cfg, err := t1071.NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	get := func() string {
		t.Helper()
		v, err := cfg.Get("engine.memory_limit")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := get(); v != "1GiB" {
		t.Errorf("default memory_limit = %q", v)
	}
	for _, v := range []string{"64MiB", "0", "512KiB", "1048576"} {
		if err := cfg.Set("engine.memory_limit", v); err != nil {
			t.Fatal(err)
		}
		if got := get(); got != v {
			t.Errorf("memory_limit %q reads back %q", v, got)
		}
	}
	if err := cfg.LoadData([]byte("[engine]\nmemory_limit = 64MiB\n")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"lots", "64MB", "-1", "64 MiB", "99999999999999999999GiB"} {
		if err := cfg.Set("engine.memory_limit", bad); !errors.Is(err, t1071.ErrInvalidArg) {
			t.Errorf("memory_limit %q: %v", bad, err)
		}
	}
	if v := get(); v != "64MiB" {
		t.Errorf("after bad values memory_limit = %q", v)
	}
	d, err := t1071.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.FeedMessage(beacon(0)); err != nil {
		t.Fatal(err)
	}
	st := mustStats(t, d)
	for _, k := range []string{"keys_evicted", "events_dropped_memory", "key_values_dropped"} {
		if v, ok := st[k]; !ok || v != 0 {
			t.Errorf("%s = %d (present %v)", k, v, ok)
		}
	}
}
