"""sealgate.sbom."""
