"""sealgate.formats."""
