"""sealgate.sbom: catalog the packages in an image's layers and write a CycloneDX/SPDX SBOM.

Pure core: it reads layer streams it is handed (no network) and returns document bytes.
The workflows layer fetches the layers and attaches or uploads the result.
"""

from sealgate.sbom.generate import OUTPUT_FORMATS, generate_sbom
from sealgate.sbom.model import DEFAULT_LIMITS, LayerSource, SbomLimits, SbomResult

__all__ = [
    "DEFAULT_LIMITS",
    "OUTPUT_FORMATS",
    "LayerSource",
    "SbomLimits",
    "SbomResult",
    "generate_sbom",
]
