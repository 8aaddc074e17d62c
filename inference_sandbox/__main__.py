"""``python -m inference_sandbox up --kubeconfig PATH``."""

from __future__ import annotations

import sys

from inference_sandbox.cli import main

sys.exit(main())
