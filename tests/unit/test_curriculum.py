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
