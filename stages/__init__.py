"""The Kardia-R1 pipeline stages (``python -m stages.<name>``) and their shared library ``stages.core``.

Importing the package makes the run offline and quiet before any Hugging Face, MLflow or DVC module
is imported: those libraries read these variables at import time (HF_HUB_OFFLINE too late would let
a stage reach for the hub, and changes what tokenizers record in their saved config).
"""

import os

QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DVC_NO_ANALYTICS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
for _key, _value in QUIET_ENV.items():
    os.environ.setdefault(_key, _value)
