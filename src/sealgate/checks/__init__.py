"""sealgate.checks."""
