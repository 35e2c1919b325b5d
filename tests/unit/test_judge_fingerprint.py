"""The embedded judge's behaviour, pinned: the hash of its scores on ~8k fixed inputs (tools/judge_fingerprint.py).

A refactor of the judge or its lexicons must leave this hash unchanged. A deliberate change of a
score is a new judge: bump ``EmbeddedJudge.version`` (it is part of the judge cache key) and the
hash together.
"""

from stages.core.judges.embedded import EmbeddedJudge
from tools.judge_fingerprint import fingerprint, in_repo_inputs

FINGERPRINTS = {"embedded-v3": "c5619a66fc2a68d1ceedde2c2ee1d807286e61de4096f8cfdb65d36088296831"}


def test_scores_match_the_versions_fingerprint():
    assert EmbeddedJudge.version in FINGERPRINTS, "a new judge version needs its fingerprint recorded here"
    assert fingerprint(in_repo_inputs()) == FINGERPRINTS[EmbeddedJudge.version], (
        "the embedded judge's scores changed: bump EmbeddedJudge.version, or undo the change")
