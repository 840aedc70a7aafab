"""sealgate.workflows."""
