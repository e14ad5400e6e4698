// SPDX-License-Identifier: Apache-2.0

package t1071detect_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	t1071 "github.com/t1071detect/t1071detect-go"
	"github.com/t1071detect/t1071detect-go/ecsv1"
)

func ruleText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sourceDir(), "examples", "rules", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func detectorWithRule(t *testing.T, cfg *t1071.Config) *t1071.Detector {
	t.Helper()
	d, err := t1071.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// The shipped EQL and Sigma rules reproduce every EQL vector.
func TestRulesShippedReproduceVectors(t *testing.T) {
	for _, rule := range []string{"t1071-beaconing.eql", "t1071-beaconing.yml"} {
		for _, name := range vectorNames(t) {
			t.Run(rule+"/"+name, func(t *testing.T) {
				cfg, err := t1071.NewConfig()
				if err != nil {
					t.Fatal(err)
				}
				defer cfg.Close()
				if err := cfg.SetRule(ruleText(t, rule)); err != nil {
					t.Fatal(err)
				}
				lines := vectorLines(t, name)
				d := detectorWithRule(t, cfg)
				checkSeq(t, name, replay(t, d, len(lines), func(i int) error { return d.FeedJSON(lines[i]) }))
			})
		}
	}
}

func TestRulesErrorsAndSeveralRules(t *testing.T) {
	cfg, err := t1071.NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	err = cfg.SetRule("sequence by process.entity_id\n  [network where destination.port > 1] with runs=2")
	if !errors.Is(err, t1071.ErrRule) || !strings.Contains(err.Error(), "line 2, column 35") {
		t.Fatalf("SetRule: %v", err)
	}
	if err := cfg.Set("rule.name", "seed"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetRule(ruleText(t, "t1071-beaconing.eql")); err != nil {
		t.Fatal(err)
	}
	if err := cfg.AddRule("p443", "sequence by process.entity_id with maxspan=24h "+
		"[network where destination.port == 443] with runs=5"); err != nil {
		t.Fatal(err)
	}
	if cfg.RuleCount() != 2 {
		t.Fatalf("RuleCount = %d", cfg.RuleCount())
	}
	lines := vectorLines(t, "a_25_one_entity")
	d := detectorWithRule(t, cfg)
	alerts := replay(t, d, len(lines), func(i int) error { return d.FeedJSON(lines[i]) })
	var seed []*ecsv1.Alert
	n443 := 0
	for _, a := range alerts {
		switch a.GetRuleName() {
		case "seed":
			seed = append(seed, a)
		case "p443":
			n443++
		default:
			t.Fatalf("alert named %q", a.GetRuleName())
		}
	}
	checkSeq(t, "a_25_one_entity", seed)
	if n443 == 0 {
		t.Error("no alert from the second rule")
	}
	state, err := d.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot of two rules: %v", err)
	}
	d2, err := t1071.Restore(state)
	if err != nil {
		t.Fatalf("Restore of two rules: %v", err)
	}
	d2.Close()
}
