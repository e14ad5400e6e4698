# SPDX-License-Identifier: Apache-2.0
"""Rules as data through the bindings: the shipped EQL and Sigma rules give
the EQL vectors, bad rules raise RuleError with the position, several rules
run in one detector and name their alerts, and such a detector snapshots and
restores whole."""
import pytest

import t1071detect as t
from conftest import SOURCE, sequences, vector_expected, vector_lines

RULES = SOURCE / "examples" / "rules"


def _replay(config, lines):
    alerts = []
    with t.Detector(config) as det:
        for line in lines:
            det.feed_json(line)
            alerts.extend(det.alerts())
        det.flush()
        alerts.extend(det.alerts())
    return alerts


@pytest.mark.parametrize("rule", ["t1071-beaconing.eql", "t1071-beaconing.yml"])
def test_shipped_rules_reproduce_vectors(vector, rule):
    cfg = t.Config().set_rule((RULES / rule).read_text(encoding="utf-8"))
    assert cfg.get("rule.runs") == "10" and cfg.get("rule.maxspan") == "1d"
    assert sequences(_replay(cfg, vector_lines(vector))) == vector_expected(vector)


def test_bad_rule_names_position_and_changes_nothing():
    cfg = t.Config()
    with pytest.raises(t.RuleError) as e:
        cfg.set_rule("sequence by process.entity_id\n  [network where destination.port > 1]"
                     " with runs=2")
    assert e.value.code == -15
    assert "line 2, column 35" in e.value.detail
    assert cfg.get("rule.query") == "" and cfg.rule_count == 1


def test_several_rules_one_detector():
    lines = vector_lines("a_25_one_entity")
    cfg = t.Config({"rule.name": "seed"})
    cfg.set_rule((RULES / "t1071-beaconing.eql").read_text(encoding="utf-8"))
    cfg.add_rule("sequence by process.entity_id with maxspan=24h "
                 "[network where destination.port == 443] with runs=5", name="p443")
    assert cfg.rule_count == 2
    alerts = _replay(cfg, lines)
    by_rule = {}
    for a in alerts:
        by_rule.setdefault(a.rule_name, []).append(a)
    assert set(by_rule) == {"seed", "p443"}
    assert sequences(by_rule["seed"]) == vector_expected("a_25_one_entity")
    # Cut in the middle, snapshot, restore: the same alerts as one run.
    half = len(lines) // 2
    got = []
    with t.Detector(cfg) as det:
        for line in lines[:half]:
            det.feed_json(line)
        got.extend(det.alerts())
        state = det.snapshot()
    with t.Detector.restore(state) as det:
        for line in lines[half:]:
            det.feed_json(line)
        det.flush()
        got.extend(det.alerts())
    assert [(a.rule_name, a.sequence_number) for a in got] == \
        [(a.rule_name, a.sequence_number) for a in alerts]
    assert sequences(got) == sequences(alerts)
