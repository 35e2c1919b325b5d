"""Each registry of names in stages/core/config.py (what a config may say) matches the registry in
the code that implements them, both ways: a name config accepts has its code, and code config does
not know of is not silently unreachable. Adding a reward, a judge backend, a generation backend or a
partition method touches both sides; this test names the side that is missing."""

import pytest

from stages.core import config


def code_registries() -> dict[str, tuple[tuple[str, ...], object]]:
    from stages import partition
    from stages.core import judges, rewards
    from stages.core.evaluation import backends

    return {
        "REWARD_NAMES": (config.REWARD_NAMES, rewards.REWARDS),
        "JUDGE_BACKENDS": (config.JUDGE_BACKENDS, judges.BACKENDS),
        "GENERATION_BACKENDS": (config.GENERATION_BACKENDS, backends.BACKENDS),
        "PARTITION_METHODS": (config.PARTITION_METHODS, partition.METHODS),
    }


@pytest.mark.parametrize("name", ["REWARD_NAMES", "JUDGE_BACKENDS", "GENERATION_BACKENDS", "PARTITION_METHODS"])
def test_config_registry_matches_the_code(name):
    configured, implemented = code_registries()[name]
    assert len(set(configured)) == len(configured), f"config.{name} repeats a name"
    assert not set(configured) - set(implemented), f"config.{name} names with no code"
    assert not set(implemented) - set(configured), f"code for names config.{name} does not list"


def test_build_judge_refuses_a_backend_outside_its_registry():
    """build_judge checks judges.BACKENDS (the embedded backend is built here without any endpoint)."""
    from stages.core.judges import build_judge

    assert build_judge({"backend": "embedded"}).version.startswith("embedded")
    with pytest.raises(ValueError, match="not available"):
        build_judge({"backend": "no-such-backend"})
