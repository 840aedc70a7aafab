"""Benchmark generate_sbom against the cost of just reading the layers, and its peak RSS.

Builds a synthetic image (tar+gzip layers in a temp dir) of ``--size-mb`` uncompressed bytes:
a Debian-style base (dpkg status, copyright files, many small files), a Python layer
(dist-info trees), a node_modules layer, and an application layer (ELF executables, Go
binaries, jars, a few large data files). Then it measures:

* floor: decompress each layer and iterate its tar, reading every member's bytes (two ways:
  tarfile's own ``r|gz`` stream mode, and sealgate's decompressor + ``r:`` reader; the
  faster one is the floor);
* sbom: ``generate_sbom`` over the same layers;

and prints MB/s (uncompressed tar bytes per second) and the ratio. Peak RSS (VmHWM) of the
floor and of generate_sbom is measured in fresh subprocesses for each of ``--rss-sizes``.

    .venv/bin/python benchmarks/sbom.py [--size-mb 200] [--rss-sizes 50,500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

ROOT = Path(__file__).resolve().parents[1]
try:
    import sealgate  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(ROOT / "src"))

from sealgate.sbom import LayerSource, generate_sbom
from sealgate.sbom.stream import LayerReader, decompressed_chunks

MiB = 1024 * 1024
GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
_TEXT = (
    "the of and to in is for on that with as by at from it be this are or an have not function "
    "return const import export class self def value error data config buffer stream layer index "
    "module package version license copyright build"
)
WORDS = _TEXT.split()


class ImageWriter:
    """Writes layers as tar.gz files, filling files from a pool of text-like bytes."""

    def __init__(self, directory: Path, seed: int = 7) -> None:
        self.directory = directory
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not crypto
        text = " ".join(self.rng.choice(WORDS) for _ in range(1_200_000)).encode()
        self.pool = text[: 4 * MiB]
        self.layers: list[Path] = []
        self.raw_bytes = 0

    def filler(self, size: int) -> bytes:
        start = self.rng.randrange(0, len(self.pool) - min(size, len(self.pool)) + 1)
        chunk = self.pool[start : start + size]
        return (chunk * (size // max(len(chunk), 1) + 1))[:size]

    def layer(self, files: list[tuple[str, bytes | int, int]]) -> None:
        path = self.directory / f"layer{len(self.layers)}.tar.gz"
        with (
            path.open("wb") as out,
            gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz,
            tarfile.open(fileobj=cast(IO[bytes], gz), mode="w|", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name, content, mode in files:
                info = tarfile.TarInfo(name)
                info.mode = mode
                if isinstance(content, int):  # a large file, written in pieces
                    info.size = content
                    tar.addfile(info, _Repeating(self.pool, content, self.rng))
                else:
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
                self.raw_bytes += info.size
        self.layers.append(path)


class _Repeating(io.RawIOBase):
    """``size`` bytes of mostly-text with some random noise, produced on demand."""

    def __init__(self, pool: bytes, size: int, rng: random.Random) -> None:
        self.pool, self.left, self.rng = pool, size, rng

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left, MiB)
        if n <= 0:
            return 0
        start = self.rng.randrange(0, len(self.pool) - n + 1)
        piece = bytearray(self.pool[start : start + n])
        piece[: min(n, 4096)] = os.urandom(min(n, 4096))
        buffer[:n] = piece
        self.left -= n
        return n


def _go_binary(size: int, module: str) -> bytes:
    """Minimal ELF64 with a Go 1.18+ build-info blob at the start of its writable segment."""
    data_off = size // 2
    ehdr = (
        b"\x7fELF\x02\x01\x01\0"
        + b"\0" * 8
        + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 64, 0, 0, 64, 56, 2, 64, 0, 0)
    )
    phs = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, data_off, data_off, 0x1000)
    phs += struct.pack("<IIQQQQQQ", 1, 6, data_off, 0, 0, size - data_off, size - data_off, 0)
    mod = f"path\t{module}\nmod\t{module}\tv1.0.0\t\n" + "".join(
        f"dep\tgithub.com/dep/m{i}\tv0.{i}.0\th1:x=\n" for i in range(40)
    )
    wrapped = b"\x30" * 16 + mod.encode() + b"\xf9" * 16
    info = b"\xff Go buildinf:\x08\x02" + b"\0" * 16 + b"\x08go1.22.3"
    info += bytes([len(wrapped) & 0x7F | 0x80, len(wrapped) >> 7]) + wrapped
    blob = bytearray(size)
    blob[:176] = ehdr + phs
    blob[data_off : data_off + len(info)] = info
    return bytes(blob)


def _elf(size: int, fill: bytes) -> bytes:
    return b"\x7fELF\x02\x01\x01\0" + fill[: size - 8]


def _jar(group: str, artifact: str, size: int, fill: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n")
        jar.writestr(
            f"META-INF/maven/{group}/{artifact}/pom.properties",
            f"groupId={group}\nartifactId={artifact}\nversion=1.2.3\n",
        )
        jar.writestr("lib/blob.bin", fill[:size], compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def build_image(directory: Path, size_mb: int) -> tuple[list[Path], int]:
    """Write the synthetic image; returns layer paths and uncompressed file bytes."""
    w = ImageWriter(directory)
    total = size_mb * MiB
    small = int(total * 0.45)  # many small files across three layers
    stanzas = [
        f"Package: pkg{i}\nStatus: install ok installed\nArchitecture: amd64\n"
        f"Version: 1.{i}-1\nDescription: package {i}\n {w.filler(200).decode()}\n"
        for i in range(150)
    ]
    base: list[tuple[str, bytes | int, int]] = [
        ("etc/os-release", b"ID=debian\nVERSION_ID=12\n", 0o644),
        ("var/lib/dpkg/status", "\n".join(stanzas).encode(), 0o644),
    ]
    base += [
        (f"usr/share/doc/pkg{i}/copyright", b"License: MIT\n" + w.filler(1500), 0o644)
        for i in range(150)
    ]
    used = 0
    while used < small // 3:
        size = w.rng.choice((512, 2048, 4096, 8192, 16384))
        base.append((f"usr/share/base/{len(base)}.txt", w.filler(size), 0o644))
        used += size
    w.layer(base)
    py: list[tuple[str, bytes | int, int]] = []
    for i in range(300):
        meta = f"Metadata-Version: 2.1\nName: dist{i}\nVersion: 0.{i}\nLicense: MIT\n\n".encode()
        py.append((f"usr/lib/python3/site-packages/dist{i}-0.{i}.dist-info/METADATA", meta, 0o644))
    used = 0
    while used < small // 3:
        size = w.rng.choice((1024, 4096, 12000))
        py.append((f"usr/lib/python3/site-packages/mod{len(py)}.py", w.filler(size), 0o644))
        used += size
    w.layer(py)
    npm: list[tuple[str, bytes | int, int]] = []
    for i in range(400):
        manifest = json.dumps({"name": f"pkg-{i}", "version": f"1.0.{i}", "license": "MIT"})
        npm.append((f"srv/node_modules/pkg-{i}/package.json", manifest.encode(), 0o644))
    used = 0
    while used < small // 3:
        size = w.rng.choice((300, 2000, 6000))
        npm.append(
            (f"srv/node_modules/pkg-{len(npm) % 400}/lib/f{len(npm)}.js", w.filler(size), 0o644)
        )
        used += size
    w.layer(npm)
    big = total - w.raw_bytes
    app: list[tuple[str, bytes | int, int]] = []
    for i in range(3):
        app.append((f"usr/local/bin/gotool{i}", _go_binary(4 * MiB, f"example.com/tool{i}"), 0o755))
    for i in range(40):
        app.append((f"usr/bin/cbin{i}", _elf(256 * 1024, w.filler(256 * 1024)), 0o755))
    for i in range(2):
        app.append(
            (
                f"opt/app/lib/lib{i}.jar",
                _jar("org.acme", f"lib{i}", 2 * MiB, w.filler(2 * MiB)),
                0o644,
            )
        )
    big -= 12 * MiB + 40 * 256 * 1024 + 4 * MiB
    for i in range(3):
        app.append((f"opt/data/blob{i}.bin", max(big // 3, 0), 0o644))
    w.layer(app)
    return w.layers, w.raw_bytes


def sources(paths: list[Path]) -> list[LayerSource]:
    def opener(path: Path) -> Callable[[], Any]:
        return lambda: path.open("rb")

    return [LayerSource(f"sha256:{i:064x}", GZ, opener(p)) for i, p in enumerate(paths)]


def floor_stdlib(paths: list[Path]) -> int:
    """Read every member of every layer with tarfile's own gzip stream mode."""
    total = 0
    for path in paths:
        with tarfile.open(path, mode="r|gz") as tar:
            for member in tar:
                tar.members = []  # type: ignore[attr-defined]
                f = tar.extractfile(member) if member.isreg() else None
                while f is not None and (chunk := f.read(MiB)):
                    total += len(chunk)
    return total


def floor_sealgate(paths: list[Path]) -> int:
    """Read every member with the same decompressor and tar reader generate_sbom uses."""
    total = 0
    for i, path in enumerate(paths):
        with path.open("rb") as raw:
            reader = LayerReader(
                decompressed_chunks(raw, GZ, str(i)), digest=str(i), max_bytes=1 << 40
            )
            with tarfile.open(fileobj=cast(IO[bytes], reader), mode="r:") as tar:
                while (member := tar.next()) is not None:
                    tar.members = []  # type: ignore[attr-defined]
                    f = tar.extractfile(member) if member.isreg() else None
                    while f is not None and (chunk := f.read(MiB)):
                        total += len(chunk)
    return total


def sbom(paths: list[Path]) -> int:
    result = generate_sbom(sources(paths), image_name="bench", image_digest="sha256:" + "0" * 64)
    return result.components


def tar_bytes(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with gzip.open(path, "rb") as gz:
            while chunk := gz.read(4 * MiB):
                total += len(chunk)
    return total


def best_of(repeat: int, func: Callable[[list[Path]], int], paths: list[Path]) -> tuple[float, int]:
    times, out = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        out = func(paths)
        times.append(time.perf_counter() - start)
    return min(times), out


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(mode: str, directory: Path) -> None:
    paths = sorted(directory.glob("layer*.tar.gz"), key=lambda p: int(p.name[5:].split(".")[0]))
    before = peak_rss_kib()
    out = {"floor": floor_sealgate, "sbom": sbom}[mode](paths)
    print(json.dumps({"before_kib": before, "peak_kib": peak_rss_kib(), "out": out}))


def measure_rss(size_mb: int, work: Path) -> dict[str, Any]:
    directory = work / f"rss-{size_mb}"
    directory.mkdir()
    _, raw = build_image(directory, size_mb)
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    result: dict[str, Any] = {"raw_mb": raw / MiB}
    for mode in ("floor", "sbom"):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--dir", str(directory)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        result[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    for path in directory.iterdir():
        path.unlink()
    directory.rmdir()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rss-sizes", default="50,500", help="comma-separated; '' to skip")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=("floor", "sbom"), help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dir)
        return
    with tempfile.TemporaryDirectory(prefix="sealgate-sbom-bench-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        main_dir = work / "main"
        main_dir.mkdir()
        paths, raw = build_image(main_dir, args.size_mb)
        stream = tar_bytes(paths)
        compressed = sum(p.stat().st_size for p in paths)
        built = time.perf_counter() - start
        print(
            f"image: {len(paths)} layers, {raw / MiB:.0f} MiB of files, {stream / MiB:.0f} MiB "
            f"of tar, {compressed / MiB:.0f} MiB gzip (built in {built:.1f}s)"
        )
        t_std, _ = best_of(args.repeat, floor_stdlib, paths)
        t_ours, _ = best_of(args.repeat, floor_sealgate, paths)
        t_sbom, components = best_of(args.repeat, sbom, paths)
        timings = {"stdlib r|gz": t_std, "sealgate reader": t_ours, "generate_sbom": t_sbom}
        mbs = {name: stream / MiB / t for name, t in timings.items()}
        floor = max(mbs["stdlib r|gz"], mbs["sealgate reader"])
        for name, value in mbs.items():
            print(f"{name:>16}: {value:7.1f} MB/s (tar bytes, best of {args.repeat})")
        print(f"   sbom vs floor: {mbs['generate_sbom'] / floor:6.1%}  ({components} components)")
        for size in filter(None, args.rss_sizes.split(",")):
            found = measure_rss(int(size), work)
            floor_rss, sbom_rss = (
                found["floor"]["peak_kib"] / 1024,
                found["sbom"]["peak_kib"] / 1024,
            )
            before = found["sbom"]["before_kib"] / 1024
            print(
                f"peak RSS, {found['raw_mb']:.0f} MiB image: floor {floor_rss:.1f} MiB, "
                f"generate_sbom {sbom_rss:.1f} MiB (interpreter+imports before work: "
                f"{before:.1f} MiB)"
            )
        print(f"total {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
