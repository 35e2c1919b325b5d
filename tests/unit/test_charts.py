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


def test_save_png_writes_atomically_closes_the_figure_and_crops_to_what_is_drawn(tmp_path):
    """The one matplotlib setup every chart uses (stages, radar, sweeps): Agg, atomic PNG, figure closed."""
    import matplotlib.pyplot as plt

    from stages.core.charts import figure, save_png

    sizes = {}
    for crop in (False, True):
        fig, ax = figure(size=(4, 3))
        ax.plot([0, 1], [0, 1])
        ax.legend(["outside"], loc="upper left", bbox_to_anchor=(1.05, 1.0))   # drawn past the figure's edge
        path = tmp_path / f"crop-{crop}.png"
        save_png(fig, path, dpi=50, crop=crop)
        assert path.read_bytes().startswith(PNG) and plt.get_fignums() == []
        sizes[crop] = int.from_bytes(path.read_bytes()[16:20], "big")   # IHDR width in pixels
    assert sizes[False] == 4 * 50 and sizes[True] > sizes[False]       # crop keeps the legend in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crop-False.png", "crop-True.png"]   # no temp files


def test_radar_is_drawn_with_the_shared_setup(tmp_path):
    from stages.core.evaluation.plots import radar_png

    radar_png({"sft": {"emotion_acc": 0.5, "empathy": 3.0}}, tmp_path / "radar.png", "radar")
    assert (tmp_path / "radar.png").read_bytes().startswith(PNG)
