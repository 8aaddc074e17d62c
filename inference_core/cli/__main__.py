"""``python -m inference_core.cli`` runs ``infstack``."""

from inference_core.cli.main import main

main()
