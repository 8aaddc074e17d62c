"""Triggers of the inference-stacks Airflow provider."""
