"""Root pytest configuration: fixtures from the test and demo infrastructure."""

pytest_plugins = ["inference_sandbox.hub.pytest_plugin"]
