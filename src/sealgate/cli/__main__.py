"""``python -m sealgate.cli``: the same entry point as the ``sealgate`` script."""

from sealgate.cli.main import entrypoint

entrypoint()
