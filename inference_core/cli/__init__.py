"""The ``infstack`` command line."""
