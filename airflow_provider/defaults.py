"""Defaults shared by the hooks and the operators (a module with no imports, so operators
can use them at DAG parse without importing the hooks)."""

#: Field manager our server-side applies use unless told otherwise.
DEFAULT_FIELD_MANAGER = "inference-stacks"
#: Client-side timeout of one API call, seconds (connect + read).
DEFAULT_REQUEST_TIMEOUT_S = 30.0
