"""Shared benchmark plumbing: a real registry on loopback, images, timing, a plain-HTTP floor."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` from a checkout
    sys.path.insert(0, str(ROOT))

import httpx
from tests.support.registry_server import RegistryServer, start_registry

T = TypeVar("T")
WORKERS = 16


def compile_sources() -> None:
    """Byte-compile sealgate, as ``pip install`` does, so CLI runs time the tool, not the compiler.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on CI images) an editable checkout has no
    ``.pyc`` files, and every ``sealgate`` process would compile each module it imports.
    Python still reads ``.pyc`` files under that variable, so compiling once is enough.
    """
    import compileall

    compileall.compile_dir(ROOT / "src" / "sealgate", quiet=1)


compile_sources()


@contextmanager
def registry(tmp: Path) -> Iterator[RegistryServer]:
    server = start_registry(tmp / "registry")
    try:
        yield server
    finally:
        server.stop()


def timed(label: str, work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {elapsed:8.2f} s", file=sys.stderr)
    return result, elapsed


def parallel(items: Iterable[T], work: Callable[[T], object], workers: int = WORKERS) -> None:
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(work, items):
            pass


def best_of(runs: int, work: Callable[[], object]) -> float:
    """Median of ``runs`` timings: one noisy run on a 2-core box must not decide a ratio."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PlainFetcher:
    """The I/O floor: the same requests with a bare httpx client, no parsing, no crypto."""

    def __init__(self, host: str) -> None:
        limits = httpx.Limits(max_connections=WORKERS * 2, max_keepalive_connections=WORKERS * 2)
        self.client = httpx.Client(base_url=f"http://{host}", limits=limits, timeout=30)

    def head_manifest(self, repo: str, reference: str, accept: str) -> str:
        response = self.client.head(f"/v2/{repo}/manifests/{reference}", headers={"Accept": accept})
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"]

    def get_manifest(self, repo: str, reference: str, accept: str) -> bytes:
        response = self.client.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": accept})
        response.raise_for_status()
        return response.content

    def get_blob(self, repo: str, digest: str) -> bytes:
        response = self.client.get(f"/v2/{repo}/blobs/{digest}", follow_redirects=True)
        response.raise_for_status()
        return response.content

    def try_get(self, path: str) -> int:
        """A GET whose answer may be a 404 (a probe): returns the status."""
        return self.client.get(path).status_code

    def close(self) -> None:
        self.client.close()
