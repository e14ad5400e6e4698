// SPDX-License-Identifier: Apache-2.0

package t1071detect_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	t1071 "github.com/t1071detect/t1071detect-go"
)

var fleetSettings = map[string]string{"tuning.prevalence_hosts": "3",
	"tuning.fleet_key": "go-fleet", "engine.hash_seed": "7"}

func fleetEvent(i int, host, entity string) []byte {
	off := strings.Index("ABC", host[len(host)-1:])
	return []byte(fmt.Sprintf(`{"@timestamp":%d,"event":{"category":["network"],`+
		`"type":["connection"],"id":"%s-%d"},"network":{"direction":"egress"},`+
		`"destination":{"ip":"198.51.100.7","port":443},"process":{"name":"updater.exe",`+
		`"entity_id":"%s","executable":"C:\\Vendor\\updater.exe"},"host":{"id":"%s","name":"%s"}}`,
		int64(1704067200000)+int64(i)*60000+int64(off)*1000, entity, i, entity, host, host))
}

func mustNewFleet(t *testing.T, settings map[string]string) *t1071.Detector {
	t.Helper()
	d, err := t1071.NewWith(settings)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// table: the whole table without the checksum and the cursor.
func table(t *testing.T, d *t1071.Detector) []byte {
	t.Helper()
	b, _, err := d.PrevalenceExport(0)
	if err != nil {
		t.Fatal(err)
	}
	return append(append(append([]byte{}, b[:16]...), b[48:64]...), b[72:]...)
}

func TestPrevalenceMergeCountsOtherDetectorsHosts(t *testing.T) {
	a, b := mustNewFleet(t, fleetSettings), mustNewFleet(t, fleetSettings)
	defer a.Close()
	defer b.Close()
	for i := 0; i < 3; i++ {
		mustFeedJSON(t, a, [][]byte{fleetEvent(i, "HOSTA", "EA"), fleetEvent(i, "HOSTB", "EB")})
	}
	delta, cursor, err := a.PrevalenceExport(0)
	if err != nil || cursor == 0 {
		t.Fatalf("export: %v, cursor %d", err, cursor)
	}
	if again, c2, err := a.PrevalenceExport(cursor); err != nil || c2 != cursor || len(again) != 88 {
		t.Fatalf("export since the cursor: %v, %d bytes, cursor %d", err, len(again), c2)
	}
	for k := 0; k < 2; k++ { // idempotent
		if err := b.PrevalenceMerge(delta); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 12; i++ {
		mustFeedJSON(t, b, [][]byte{fleetEvent(i, "HOSTC", "EC")})
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	alerts, err := b.PollAlerts()
	if err != nil || len(alerts) == 0 {
		t.Fatalf("alerts: %v, %d", err, len(alerts))
	}
	if got := alerts[len(alerts)-1].GetTuning().GetPrevalenceHosts(); got != 3 {
		t.Fatalf("prevalence_hosts %d, want 3 (two hosts seen by the other Detector)", got)
	}
	back, _, err := b.PrevalenceExport(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PrevalenceMerge(back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(table(t, a), table(t, b)) {
		t.Fatal("tables differ after merging both ways")
	}
}

func TestPrevalenceRefusals(t *testing.T) {
	plain := mustNewFleet(t, map[string]string{"tuning.prevalence_hosts": "3"})
	a := mustNewFleet(t, fleetSettings)
	other := mustNewFleet(t, map[string]string{"tuning.prevalence_hosts": "3", "tuning.fleet_key": "x"})
	defer plain.Close()
	defer a.Close()
	defer other.Close()
	if _, _, err := plain.PrevalenceExport(0); !errors.Is(err, t1071.ErrUnsupported) {
		t.Fatalf("no fleet key: %v", err)
	}
	mustFeedJSON(t, a, [][]byte{fleetEvent(0, "HOSTA", "EA")})
	delta, _, err := a.PrevalenceExport(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.PrevalenceMerge(delta); !errors.Is(err, t1071.ErrSnapshot) ||
		!strings.Contains(err.Error(), "fleet_key") {
		t.Fatalf("other fleet: %v", err)
	}
	if err := a.PrevalenceMerge(delta[:len(delta)-1]); !errors.Is(err, t1071.ErrSnapshot) {
		t.Fatalf("truncated: %v", err)
	}
}
