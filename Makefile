# Two user commands, each sets up .venv (pinned stack from pyproject.toml) when missing:
#   make pipeline   run the whole Kardia-R1 pipeline on the embedded defaults (dvc exp run)
#   make test       run the test suite (unit + end-to-end)
# and views of the results: make show (experiments table), make plots (offline HTML), make ui (MLflow).
VENV ?= .venv
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: pipeline test test-fast regression params ui show plots chat serve help chromium

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# torch goes in first, with pip: only pip finds the CPU wheel this machine keeps on disk (a range or
# another installer pulls a multi-GB CUDA build). uv then installs the rest of the pinned set several
# times faster than pip and keeps that torch, which satisfies the exact pin in pyproject.toml.
# --compile-bytecode: uv skips it by default, and where PYTHONDONTWRITEBYTECODE is set (as on CI)
# every stage process would otherwise recompile torch/transformers/trl/mlflow (~8 s each).
TORCH_PIN := $(shell grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv '$(TORCH_PIN)'
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(VENV)/bin/python -e '.[dev]'
	touch $@

pipeline: $(STAMP)  ## prepare -> partition -> sft -> grpo -> evaluate on the embedded defaults
	dvc exp run
	@cat reports/eval.md

test: $(STAMP) chromium  ## all tests, including the end-to-end pipeline runs (marker slow)
	python -m pytest

# The MLflow UI test drives a headless Chromium (it skips, saying so, where none exists). Installed
# best-effort: only when no Chromium or Chrome is on PATH, only where apt-get runs (as root, or by
# password-less sudo); a failure here fails nothing.
chromium:
	@for b in chromium chromium-browser google-chrome google-chrome-stable; do command -v $$b >/dev/null && exit 0; done; \
	sudo=; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
	if command -v apt-get >/dev/null && $$sudo true 2>/dev/null && \
	   ($$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium) >/dev/null 2>&1; \
	then echo "installed chromium for the MLflow UI test"; else echo "no chromium: the MLflow UI test will skip"; fi

test-fast: $(STAMP)  ## unit tests only
	python -m pytest -m "not slow"

regression: $(STAMP)  ## dvc repro on the committed params.yaml, then compare metrics with experiments/regression/baseline.json
	dvc repro
	python -m experiments.regression

params: $(STAMP)  ## recompose params.yaml from conf/ (what `dvc exp run` does first)
	python -m tools.compose_params

CHECKPOINT ?= models/grpo
PERSONA ?=
PORT ?= 8000
chat: $(STAMP)  ## talk to a checkpoint in the terminal (CHECKPOINT=models/grpo, PERSONA="text or file"); one-shot: python -m stages.chat -m "..."
	python -m stages.chat --checkpoint "$(CHECKPOINT)" $(if $(PERSONA),--persona "$(PERSONA)")

serve: $(STAMP)  ## OpenAI-compatible server for a checkpoint at http://127.0.0.1:8000/v1 (CHECKPOINT=, PORT=, PERSONA=)
	python -m stages.serve --checkpoint "$(CHECKPOINT)" --port "$(PORT)" $(if $(PERSONA),--persona "$(PERSONA)")

# One worker [ours]: a viewer for one user starts in a quarter of the time of mlflow's default 4.
UI_PORT ?= 5000
UI_WORKERS ?= 1
ui: $(STAMP)  ## MLflow UI on the pipeline's store (MLFLOW_TRACKING_URI or paths.mlflow_db) at http://127.0.0.1:5000 (UI_PORT=)
	mlflow ui --host 127.0.0.1 --port "$(UI_PORT)" --workers "$(UI_WORKERS)" --backend-store-uri "$$(python -c 'from stages.core.config import load_config; \
	from stages.core.tracking import tracking_uri; print(tracking_uri(load_config().paths.mlflow_db))')"

# The experiments table: the headline metrics (metrics/headline.json: evaluate.headline's keys, all
# eval*/...) and the parameters below, of this commit's experiments (make show SHOW_ARGS=-A: of every
# commit). The rest: `dvc exp show` (all ~150 params and the deps), `dvc metrics show
# metrics/evaluate.json` (every value of the workspace).
SHOW_METRICS ?= eval[a-z_]*/.*
SHOW_PARAMS ?= seed|data\.source|model\.name|partition\.method|(sft|grpo)\.enabled|reward\.(names|weights)
SHOW_ARGS ?=
show: $(STAMP)  ## the experiments table (Markdown): headline metrics and the key params of each experiment
	@dvc exp show --md --drop '.*' --keep '^(Experiment|$(SHOW_PARAMS)|$(SHOW_METRICS))$$' $(SHOW_ARGS)

plots: $(STAMP)  ## dvc plots show into plots.html/ (PNG images only: renders offline)
	dvc plots show -o plots.html
