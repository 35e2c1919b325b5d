"""python -m experiments.regression: see check.py."""

from experiments.regression.check import main

raise SystemExit(main())
