"""Unit tests for sealgate.oci."""
