"""Local Kubernetes API server with simulated Knative/LWS controllers.

Test and demo infrastructure only: never imported by the production packages.
"""
