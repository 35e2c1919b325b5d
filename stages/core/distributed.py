"""Which process of a launch this is (``launch`` group, stages/core/launch.py), and what only one of
them may do: only the main process writes outputs, metrics, plots and MLflow runs; the others wait
for it at a barrier.

Ranks are read from the environment that torchrun / ``accelerate launch`` set (RANK, WORLD_SIZE),
not from accelerate's PartialState: a one-process stage must neither pay its import nor set up a
process group.
"""

from __future__ import annotations

import os
from collections.abc import Callable


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def barrier() -> None:
    """Wait until every process of the launch gets here; nothing with one process."""
    if world_size() > 1:
        from accelerate import PartialState

        PartialState().wait_for_everyone()


def _sharded(accelerator) -> bool:
    """True where no process holds the whole model: DeepSpeed ZeRO-3 and FSDP."""
    from accelerate.utils import DistributedType

    if accelerator.distributed_type == DistributedType.FSDP:
        return True
    plugin = accelerator.state.deepspeed_plugin
    return accelerator.distributed_type == DistributedType.DEEPSPEED and plugin.zero_stage == 3


def trained_model(trainer, rebuild: Callable[[], object], merge: Callable[[object], object]):
    """The trained model, whole and with LoRA merged, on the main process; None on the others.

    Every process must call it: under ZeRO-3 and FSDP each holds a shard only, and the trainer's
    accelerator gathers them (a collective) into a full state dict on the main process. That state is
    loaded into ``rebuild()`` (the untrained model, LoRA applied) and only then merged, because LoRA
    cannot be folded into a shard. ZeRO-3/FSDP are untested here (no GPU, no deepspeed package).
    Unsharded (one process, DDP, ZeRO-2) every process holds the whole model: the main one merges
    its own copy, so a one-process run saves exactly what it did before launches existed.
    """
    if not _sharded(trainer.accelerator):
        return merge(trainer.model) if is_main() else None
    state = trainer.accelerator.get_state_dict(trainer.model)
    if not is_main():
        return None
    model = rebuild()
    missing, unexpected = model.load_state_dict(state, strict=False)
    # a tied output head may come back under the embedding's name only
    if unexpected or [k for k in missing if not k.endswith("lm_head.weight")]:
        raise RuntimeError(f"gathered state dict does not fit the model: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    return merge(model)
