"""Sensors of the inference-stacks Airflow provider."""
