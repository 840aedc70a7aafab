"""The templates under ci/templates/ are exactly what `sealgate ci generate` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealgate.ci import CI_SYSTEMS, PARTS, generate

TEMPLATES = Path(__file__).resolve().parents[2] / "ci" / "templates"


@pytest.mark.parametrize("system", CI_SYSTEMS)
@pytest.mark.parametrize("part", PARTS)
def test_checked_in_template_matches_generator(system: str, part: str) -> None:
    path = TEMPLATES / f"{system}-{part}.yml"
    assert path.read_text() == generate(system, part=part), (  # type: ignore[arg-type]
        f"{path} is stale: regenerate with `sealgate ci generate --system {system} "
        f"--part {part} > {path}`"
    )
