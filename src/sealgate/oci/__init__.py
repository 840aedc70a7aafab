"""sealgate.oci."""
