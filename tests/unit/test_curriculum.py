import pytest

from stages.core.curriculum import difficulty, is_easy, trace_rates


@pytest.mark.parametrize("trace, expected", [
    (["PASS", "SOLVED"], "easy"),                      # no FAIL
    (["FAIL", "PASS", "SOLVED"], "easy"),              # pFAIL 1/3 < 2/3
    (["FAIL", "PASS"], "hard"),                        # pFAIL 1/2 is not < 1/2, pSOLVED 0
    (["FAIL", "FAIL", "PASS", "SOLVED"], "hard"),      # pFAIL 1/2, pSOLVED 1/4
    (["FAIL", "FAIL", "SOLVED"], "hard"),              # pFAIL 2/3
    (["FAIL"], "hard"),
    (["SOLVED"], "easy"),
])
def test_paper_rule(trace, expected):
    assert difficulty(trace) == expected


def test_rule_matches_the_papers_formulation():
    """easy iff pFAIL < pPASS + pSOLVED or pFAIL + pPASS < pSOLVED, for every short trace."""
    import itertools

    for n in range(1, 6):
        for trace in itertools.product(["FAIL", "PASS", "SOLVED"], repeat=n):
            p = trace_rates(list(trace))
            paper = p["FAIL"] < p["PASS"] + p["SOLVED"] or p["FAIL"] + p["PASS"] < p["SOLVED"]
            assert is_easy(list(trace)) == paper, trace


def test_thresholds_move_the_boundary():
    trace = ["FAIL", "PASS"]
    assert difficulty(trace) == "hard"
    assert difficulty(trace, max_fail_rate=0.6) == "easy"
    assert difficulty(["PASS", "PASS", "PASS"], max_fail_rate=0.0, min_solved_rate=0.5) == "hard"


@pytest.mark.parametrize("trace", [[], ["FAIL", "MAYBE"]])
def test_bad_traces_raise(trace):
    with pytest.raises(ValueError):
        trace_rates(trace)


def _examples():
    """Three examples per dialogue; dialogue i is easy under the trace rule iff i is even."""
    traces = {True: ["PASS", "SOLVED"], False: ["FAIL", "FAIL", "PASS"]}
    return [{"dialogue_id": f"d{i}", "trace": traces[i % 2 == 0], "turn": t} for i in range(40) for t in range(3)]


def _partition(**kw):
    from types import SimpleNamespace

    return SimpleNamespace(**{"max_fail_rate": 0.5, "min_solved_rate": 0.5, "easy_fraction": None, **kw})


def test_random_split_keeps_the_trace_rules_proportion_but_not_its_choice():
    from stages.core.curriculum import random_labels, trace_labels

    examples, p = _examples(), _partition()
    rule, rand = trace_labels(examples, p, 0), random_labels(examples, p, seed=7)
    assert set(rand) == set(rule)
    assert sum(v == "easy" for v in rand.values()) == sum(v == "easy" for v in rule.values()) == 20
    assert rand != rule
    assert random_labels(examples, p, seed=7) == rand, "seeded: the same seed gives the same split"
    assert random_labels(examples, p, seed=8) != rand


def test_random_split_takes_a_configured_fraction():
    from stages.core.curriculum import random_labels

    labels = random_labels(_examples(), _partition(easy_fraction=0.25), seed=1)
    assert sum(v == "easy" for v in labels.values()) == 10


def test_one_stage_splits_send_everything_one_way():
    from stages.core.curriculum import ABLATIONS as METHODS

    examples = _examples()
    assert set(METHODS["all_sft"](examples, _partition(), 0).values()) == {"easy"}
    assert set(METHODS["all_grpo"](examples, _partition(), 0).values()) == {"hard"}
    assert len(METHODS["all_sft"](examples, _partition(), 0)) == 40


def test_random_split_takes_the_reference_rules_share_when_given():
    """With partition.reference=rollouts random's easy share is the rollout rule's (its labels per
    dialogue), not the trace rule's: the data have no traces to read."""
    from stages.core.curriculum import random_labels

    examples = [{"dialogue_id": f"d{i}", "trace": None} for i in range(40)]
    reference = {f"d{i}": "easy" if i < 30 else "hard" for i in range(40)}
    labels = random_labels(examples, _partition(), seed=3, reference=reference)
    assert sum(v == "easy" for v in labels.values()) == 30 and labels != reference


def test_each_rule_reads_its_own_threshold_knobs():
    from stages.core.curriculum import THRESHOLD_KNOBS, ignored_knobs

    trace_keys, rollout_keys = THRESHOLD_KNOBS["trace"], THRESHOLD_KNOBS["rollouts"]
    keys = [*trace_keys, *rollout_keys, "reward.weights"]
    under_rollouts = ignored_knobs(_partition(method="rollouts", reference="trace"), keys)
    assert set(under_rollouts) == set(trace_keys)
    assert "move partition.rollouts.resolve_threshold / partition.rollouts.easy_min_rate" in \
        under_rollouts["partition.max_fail_rate"]
    assert set(ignored_knobs(_partition(method="trace", reference="trace"), keys)) == set(rollout_keys)
    # an ablation reads its reference rule's knobs (test labels, random's share)
    assert set(ignored_knobs(_partition(method="random", reference="rollouts"), keys)) == set(trace_keys)
    assert set(ignored_knobs(_partition(method="all_sft", reference="trace"), keys)) == set(rollout_keys)


def test_the_bootstrap_slice_is_seeded_and_never_empty_or_whole():
    from stages.core.bootstrap import slice_dialogues
    from stages.core.config import ConfigError

    train = [{"dialogue_id": f"d{i}"} for i in range(20) for _ in range(2)]
    chosen = slice_dialogues(train, 0.25, seed=5)
    assert len(chosen) == 5 and chosen == slice_dialogues(train, 0.25, seed=5)
    assert chosen != slice_dialogues(train, 0.25, seed=6)
    assert len(slice_dialogues(train, 0.01, seed=5)) == 1 and len(slice_dialogues(train, 0.99, seed=5)) == 19
    with pytest.raises(ConfigError, match="at least 2 training dialogues"):
        slice_dialogues(train[:2], 0.5, seed=0)
