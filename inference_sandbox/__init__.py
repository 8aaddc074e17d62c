"""A local Kubernetes API server with simulated Knative/LWS controllers. Test and demo infrastructure only."""
