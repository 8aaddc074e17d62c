"""Operators of the inference-stacks Airflow provider."""
