"""sealgate.ci: ready-to-commit CI definitions (Azure DevOps, GitHub Actions, GitLab CI).

Pure text generation with no dependency on the rest of sealgate beyond its errors; the
checked-in copies under ``ci/templates/`` are exactly what :func:`generate` returns.
"""

from sealgate.ci.templates import CI_SYSTEMS, GATE_FLAGS, PARTS, CISystem, Part, generate

__all__ = ["CI_SYSTEMS", "GATE_FLAGS", "PARTS", "CISystem", "Part", "generate"]
