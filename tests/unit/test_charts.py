"""The stages' plots are PNG images (DVC's HTML renders them offline), drawn even from no data."""

from stages.core.charts import bar_png, confusion_png, line_png
from stages.core.training import write_series

PNG = b"\x89PNG\r\n\x1a\n"


def test_line_bar_and_confusion_charts_are_pngs(tmp_path):
    line_png([{"step": 1, "loss": 2.0}, {"step": 2, "loss": ""}, {"step": 3, "loss": 1.5}], "step", ["loss", "absent"],
             tmp_path / "line.png", "loss")
    line_png([], "step", ["loss"], tmp_path / "empty.png", "a disabled stage")
    bar_png([{"bin": "0.0-0.5", "dialogues": 3}, {"bin": "0.5-1.0", "dialogues": 1}], "bin", "dialogues",
            tmp_path / "bar.png", "bins")
    confusion_png([{"actual": "joy", "predicted": "joy"}, {"actual": "sad", "predicted": "(no span)"}],
                  tmp_path / "confusion.png", "confusion")
    for name in ("line", "empty", "bar", "confusion"):
        assert (tmp_path / f"{name}.png").read_bytes().startswith(PNG), name


def test_write_series_draws_each_chart_beside_the_csv_even_without_steps(tmp_path):
    charts = {"grpo_rewards": ("rewards", ["reward"]), "grpo_judge": ("judge", ["judge/empathy"])}
    write_series(tmp_path / "grpo_rewards.csv", [{"step": 1, "reward": 0.5}], {"reward": "reward"}, charts)
    assert (tmp_path / "grpo_rewards.png").read_bytes().startswith(PNG)
    assert (tmp_path / "grpo_judge.png").read_bytes().startswith(PNG)   # no judge column: an empty picture
    write_series(tmp_path / "sft_loss.csv", [], {"loss": ""}, {"sft_loss": ("loss", ["loss"])})
    assert (tmp_path / "sft_loss.png").read_bytes().startswith(PNG)
