"""Hostile and broken layers: bombs, traversal names, truncation, corruption, huge files."""

from __future__ import annotations

import gzip
import importlib
import io
import random
import tarfile
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from sealgate.errors import CheckFailed, IntegrityError, LimitExceeded, MalformedData
from sealgate.sbom import LayerSource, SbomLimits, generate_sbom
from tests.unit.sbom.imagekit import (
    GZIP,
    IMAGE_DIGEST,
    TAR,
    data,
    file,
    go_binary,
    hardlink,
    jar,
    layer,
    layer_blob,
    rpm_package,
    rpmdb_sqlite,
    source,
    symlink,
    tar_bytes,
)

STATUS = "var/lib/dpkg/status"
MiB = 1024 * 1024


def run(layers: list[LayerSource], **limits: Any) -> Any:
    return generate_sbom(
        layers, image_name="img", image_digest=IMAGE_DIGEST, limits=SbomLimits(**limits)
    )


def test_tar_bomb_hits_the_layer_byte_cap() -> None:
    bomb = layer([file("zeros", b"\0" * (4 * MiB)), file(STATUS, data("dpkg-status"))])
    assert len(layer_blob([file("zeros", b"\0" * (4 * MiB))])) < 64 * 1024
    with pytest.raises(LimitExceeded, match="max_layer_bytes"):
        run([bomb], max_layer_bytes=1 * MiB)


def test_layer_cap_in_warn_mode_keeps_the_other_layers() -> None:
    good = layer([file(STATUS, data("dpkg-status"))])
    bomb = layer([file("zeros", b"\0" * (4 * MiB))])
    result = run([good, bomb], max_layer_bytes=1 * MiB, on_limit="warn")
    assert result.components == 3
    assert len(result.warnings) == 1
    assert "max_layer_bytes" in result.warnings[0]
    assert "rest of that layer was not read" in result.warnings[0]


def test_entry_count_cap() -> None:
    many = layer([file(f"f/{i}", b"") for i in range(300)])
    with pytest.raises(LimitExceeded, match="max_layer_entries"):
        run([many], max_layer_entries=100)


def test_component_cap() -> None:
    with pytest.raises(LimitExceeded, match="max_components"):
        run([layer([file(STATUS, data("dpkg-status"))])], max_components=2)


def test_traversal_and_absolute_names_stay_inside_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    hostile = layer(
        [
            file("../../../../" + STATUS, data("dpkg-status")),
            file("/lib/apk/db/installed", data("apk-installed")),
            file("./etc/../etc/os-release", "ID=debian\nVERSION_ID=12\n"),
            symlink("etc/passwd", "../../../../etc/shadow"),
            file("../../tmp/evil", b"x"),
        ]
    )
    result = run([hostile])
    assert result.components == 3 + 3 + 1  # dpkg, apk, and the OS entry
    assert b"distro=debian-12" in result.document
    assert any("'..'" in w for w in result.warnings)
    assert list(tmp_path.iterdir()) == []  # nothing is ever written


def test_symlink_loops_and_self_links_are_not_followed() -> None:
    loops = layer(
        [
            symlink("a", "b"),
            symlink("b", "a"),
            symlink("usr/lib/python3/dist-packages", "."),
            symlink("etc/os-release", "/etc/os-release"),
            file(STATUS, data("dpkg-status")),
        ]
    )
    assert run([loops]).components == 3


def test_truncated_gzip_layer() -> None:
    blob = layer_blob([file(STATUS, data("dpkg-status")), file("big", bytes(range(256)) * 4096)])
    for cut in (len(blob) // 2, len(blob) - 4):
        with pytest.raises(MalformedData, match=r"^layer sha256:[0-9a-f]{64} is truncated$"):
            run([source(blob[:cut])])


def test_plain_tar_member_claims_more_bytes_than_the_stream_has() -> None:
    raw = tar_bytes([file("big", b"x" * 10_000), file(STATUS, data("dpkg-status"))])
    with pytest.raises(MalformedData, match="is truncated"):
        run([source(raw[:3000], TAR)])
    with pytest.raises(MalformedData, match="is truncated"):  # cut inside a header block
        run([source(raw[: 512 * 22 + 100], TAR)])


def test_plain_tar_without_end_marker_is_a_warning() -> None:
    raw = tar_bytes([file(STATUS, data("dpkg-status"))]).rstrip(b"\0")
    raw += b"\0" * (-len(raw) % 512)  # the member's padding, but no end-of-archive blocks
    result = run([source(raw, TAR)])
    assert result.components == 3
    assert result.warnings == [f"layer {source(raw, TAR).digest} has no tar end-of-archive marker"]


def test_corrupt_gzip_is_one_line_malformed_data() -> None:
    blob = bytearray(layer_blob([file(STATUS, data("dpkg-status"))]))
    blob[len(blob) // 2] ^= 0xFF
    blob[len(blob) // 2 + 1] ^= 0xFF
    with pytest.raises(MalformedData) as caught:
        run([source(bytes(blob))])
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("layer sha256:")


def test_gzip_crc_mismatch() -> None:
    blob = bytearray(layer_blob([file(STATUS, data("dpkg-status"))]))
    blob[-8] ^= 0x01  # CRC32 in the gzip trailer
    with pytest.raises(MalformedData, match="corrupt gzip"):
        run([source(bytes(blob))])


def test_media_type_says_gzip_but_data_is_not() -> None:
    with pytest.raises(MalformedData, match="not gzip"):
        run([source(tar_bytes([file("a", b"a")]), GZIP)])


def test_not_a_tar_archive() -> None:
    with pytest.raises(MalformedData, match="not a valid tar archive"):
        run([source(gzip.compress(b"hello world, this is not a tar file" * 100))])


def test_garbage_header_in_the_middle() -> None:
    raw = tar_bytes([file("a", b"a"), file(STATUS, data("dpkg-status"))])
    body = raw.rstrip(b"\0")
    body += b"\0" * (-len(body) % 512)
    garbage = (
        body + b"\x01garbage header".ljust(512, b"?") + file_header_and_status() + b"\0" * 1024
    )
    with pytest.raises(MalformedData, match="invalid tar header"):
        run([source(gzip.compress(garbage))])


def file_header_and_status() -> bytes:
    raw = tar_bytes([file("usr/lib/os-release", "ID=evil\n")])
    return raw.rstrip(b"\0") + b"\0" * (-len(raw.rstrip(b"\0")) % 512)


def test_empty_layers() -> None:
    assert run([source(b"", TAR)]).components == 0
    assert run([source(gzip.compress(b""))]).components == 0
    assert run([source(gzip.compress(b"\0" * 1024))]).components == 0


def test_multi_member_gzip_and_trailing_padding() -> None:
    raw = tar_bytes([file(STATUS, data("dpkg-status"))])
    blob = gzip.compress(raw[:700]) + gzip.compress(raw[700:]) + b"\0" * 64
    assert run([source(blob)]).components == 3


def test_per_file_cap_skips_the_file_with_a_warning() -> None:
    huge = '{"name": "big", "version": "1.0.0", "pad": "' + "x" * (2 * MiB) + '"}'
    image = layer(
        [file("app/node_modules/big/package.json", huge), file(STATUS, data("dpkg-status"))]
    )
    result = run([image])
    assert result.components == 3
    (warning,) = result.warnings
    assert "app/node_modules/big/package.json" in warning
    assert "cap" in warning


def test_warnings_are_capped() -> None:
    files = [file(f"x/node_modules/p{i}/package.json", "x" * 300) for i in range(5)]
    result = run([layer(files)], max_metadata_bytes=100, max_warnings=2)
    assert len(result.warnings) == 3
    assert result.warnings[-1] == "3 more warning(s) not shown"


def test_zstd_without_a_zstd_module(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def no_zstd(name: str, package: str | None = None) -> Any:
        if name in ("compression.zstd", "zstandard"):
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_zstd)
    blob = b"\x28\xb5\x2f\xfd" + b"\0" * 32
    with pytest.raises(CheckFailed, match="zstandard"):
        run([source(blob, "application/vnd.oci.image.layer.v1.tar+zstd")])


def test_zstd_layers_when_available() -> None:
    zstandard = pytest.importorskip("zstandard")
    raw = tar_bytes([file(STATUS, data("dpkg-status"))])
    compressor = zstandard.ZstdCompressor()
    blob = compressor.compress(raw[:1000]) + compressor.compress(raw[1000:])  # two frames
    media = "application/vnd.oci.image.layer.v1.tar+zstd"
    assert run([source(blob, media)]).components == 3
    with pytest.raises(MalformedData, match="truncated"):
        run([source(blob[:-8], media)])


def test_stream_errors_from_the_caller_propagate() -> None:
    blob = layer_blob([file(STATUS, data("dpkg-status"))])

    class Verifying(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            if not chunk:
                raise IntegrityError("blob digest mismatch")
            return chunk

    @contextmanager
    def opener() -> Iterator[BinaryIO]:
        yield Verifying(blob)

    with pytest.raises(IntegrityError):  # the layer is read to its end, so the check runs
        run([LayerSource("sha256:" + "0" * 64, GZIP, opener)])


class _GeneratedLayer(io.RawIOBase):
    """A gzip tar stream made on the fly: huge files of zeros without holding them."""

    def __init__(self, files: list[tuple[str, int, int, bytes]]) -> None:
        self._parts = self._generate(files)
        self._pending = b""

    @staticmethod
    def _generate(files: list[tuple[str, int, int, bytes]]) -> Iterator[bytes]:
        deflate = zlib.compressobj(1, zlib.DEFLATED, 31)
        for name, size, mode, head in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode = size, mode
            yield deflate.compress(info.tobuf(tarfile.PAX_FORMAT))
            yield deflate.compress(head)
            left = size - len(head)
            zeros = b"\0" * MiB
            while left > 0:
                yield deflate.compress(zeros[: min(left, MiB)])
                left -= MiB
            yield deflate.compress(b"\0" * (-size % 512))
        yield deflate.compress(b"\0" * 1024)
        yield deflate.flush()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            part = next(self._parts, None)
            if part is None:
                return 0
            self._pending = part
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def test_huge_files_stream_through_with_flat_memory() -> None:
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 57
    files = [
        ("data/model.bin", 200 * MiB, 0o644, b""),  # one 200 MB file, streamed past
        ("usr/bin/huge-exe", 80 * MiB, 0o755, elf),  # scanned for Go build info, in chunks
        (STATUS, 48 * MiB, 0o644, b""),  # cataloged name, over its cap: skipped, not buffered
        ("opt/lib/app.jar", 80 * MiB, 0o644, b""),  # over the archive cap
    ]

    @contextmanager
    def opener() -> Iterator[BinaryIO]:
        yield io.BufferedReader(_GeneratedLayer(files), 256 * 1024)

    tracemalloc.start()
    try:
        result = run([LayerSource("sha256:" + "1" * 64, GZIP, opener)], max_archive_bytes=64 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.components == 0
    assert len(result.warnings) == 2
    assert peak < 24 * MiB, peak


def test_mutated_layers_fail_cleanly_or_succeed() -> None:
    """A small deterministic fuzz: random byte flips and cuts never escape as a crash."""
    raw = tar_bytes(
        [
            file(STATUS, data("dpkg-status")),
            file("lib/apk/db/installed", data("apk-installed")),
            file("usr/bin/tool", go_binary(), mode=0o755),
            file("srv/app.jar", jar([("org.acme", "app", "1.0")])),
            file(
                "var/lib/rpm/rpmdb.sqlite",
                rpmdb_sqlite([rpm_package("bash", "5", "1", "x86_64", "MIT")]),
            ),
            file("srv/node_modules/express/package.json", data("express-package.json")),
            symlink("etc/os-release", "../usr/lib/os-release"),
            hardlink("var/lib/dpkg/status-old", STATUS),
        ]
    )
    rng = random.Random(20240601)  # noqa: S311 - reproducible fuzzing, not crypto
    outcomes = {"ok": 0, "malformed": 0}
    for _ in range(200):
        mutated = bytearray(raw)
        for _ in range(rng.choice((1, 3, 10, 40))):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        if rng.random() < 0.2:
            del mutated[rng.randrange(len(mutated)) :]
        blob = gzip.compress(bytes(mutated)) if rng.random() < 0.5 else bytes(mutated)
        try:
            result = run([source(blob, TAR)])
        except MalformedData:
            outcomes["malformed"] += 1
            continue
        outcomes["ok"] += 1
        assert not any("not cataloged (" in w for w in result.warnings), result.warnings
    assert outcomes["ok"] > 25
    assert outcomes["malformed"] > 25


def test_a_cataloger_crash_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(data: bytes) -> list[Any]:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("sealgate.sbom.catalog.parse_package_json", boom)
    image = layer([file("n/node_modules/x/package.json", "{}"), file(STATUS, data("dpkg-status"))])
    result = run([image])
    assert result.components == 3
    assert result.warnings == [
        f"n/node_modules/x/package.json: not cataloged (RuntimeError: parser bug) "
        f"(layer {image.digest})"
    ]
