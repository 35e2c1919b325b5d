"""grpo.average (stages/core/weight_average.py): under a real transformers Trainer the saved weights
are the exponential moving average of the weights after each optimizer step, starting at the initial ones."""

import pytest
import torch
import yaml
from transformers import Trainer, TrainerCallback, TrainingArguments

from stages.core.config import ConfigError, load_config
from stages.core.weight_average import WeightAverageCallback
from tests.unit.test_config import compose


class Regression(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)
        self.frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)   # not trained: left alone

    def forward(self, x, y):
        return {"loss": torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), y)}


class Trace(TrainerCallback):
    """The trained weights before training and after every optimizer step."""

    def __init__(self):
        self.steps = []

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.steps.append(model.linear.weight.detach().clone())

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.steps.append(model.linear.weight.detach().clone())


def test_the_saved_weights_are_the_moving_average_of_the_steps(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(32, 3)
    data = [{"x": xi, "y": xi.sum() * 2.0} for xi in x]
    model = Regression()
    trace, average = Trace(), WeightAverageCallback(0.5)
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=6, per_device_train_batch_size=4, learning_rate=0.1,
                             lr_scheduler_type="constant", use_cpu=True, report_to=[], save_strategy="no",
                             logging_strategy="no", disable_tqdm=True)
    # Trace runs after the average: the last weights it sees are the trained ones, before the swap
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[average, trace])
    trainer.train()
    expected = trace.steps[0]
    for weights in trace.steps[1:]:
        expected = 0.5 * expected + 0.5 * weights
    assert len(trace.steps) == 7 and average.updates == 6
    assert not torch.equal(trace.steps[-1], trace.steps[0])            # training moved the weights
    assert torch.allclose(model.linear.weight, expected, atol=1e-6)     # and the model now holds their average
    assert not torch.allclose(model.linear.weight, trace.steps[-1])
    assert torch.equal(model.frozen, torch.ones(2))
    assert average.metrics() == {"train/average_decay": 0.5, "train/average_updates": 6}


def test_a_decay_outside_the_open_unit_interval_is_refused():
    for decay in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="grpo.average"):
            WeightAverageCallback(decay)


def test_off_by_default_and_refused_where_the_launch_shards_the_weights(root, tmp_path):
    assert load_config(root / "params.yaml").grpo.average is None
    params = tmp_path / "params.yaml"
    overrides = ["grpo=paper", "model=qwen2.5-7b", "sft=paper", "launch=fsdp", "launch.num_processes=8",
                 "grpo.select_best.enabled=false"]
    params.write_text(yaml.safe_dump(compose(root, [*overrides, "grpo.average=0.9"])))
    with pytest.raises(ConfigError, match="key 'grpo.average'.*launch=fsdp shards"):
        load_config(params)
    params.write_text(yaml.safe_dump(compose(root, [*overrides[:3], "launch=ddp", "launch.num_processes=8",
                                                    "grpo.select_best.enabled=false", "grpo.average=0.9"])))
    assert load_config(params).grpo.average == 0.9
