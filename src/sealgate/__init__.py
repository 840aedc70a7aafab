"""sealgate: sign container images and verify them before they run, wire-compatible with cosign."""

import logging

__version__ = "0.1.0"

# A library never installs handlers; the CLI owns logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())
