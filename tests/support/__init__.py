"""Test support: real registry launcher, image builders, in-memory fake registry."""
