"""sealgate.gate."""
