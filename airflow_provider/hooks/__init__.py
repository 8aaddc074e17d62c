"""Hooks of the inference-stacks Airflow provider."""
