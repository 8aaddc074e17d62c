"""Pulumi components for inference-stacks."""
