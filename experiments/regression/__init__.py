"""CI regression check (see check.py): baseline.json + tolerances.yaml."""
