"""CycloneDX JSON output (1.6, or 1.5 on request), built with cyclonedx-python-lib.

The image is ``metadata.component`` (type ``container``, version = manifest digest) and
depends on every package; sealgate is the tool. Each package carries its provenance as
properties: ``sealgate:layer`` (layer digest), ``sealgate:path`` (metadata file) and
``sealgate:cataloger``. An incomplete inventory says so the CycloneDX way: a composition
with aggregate ``incomplete`` over the image (CycloneDX 1.5/1.6 ``compositions``), and one
``sealgate:incomplete`` metadata property per reason.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.output.json import JsonV1Dot5, JsonV1Dot6
from packageurl import PackageURL
from sortedcontainers import SortedSet

from sealgate import __version__
from sealgate.errors import UsageError
from sealgate.sbom.model import OsInfo, Package

try:  # cyclonedx-python-lib >= 11.x moved the factory; the old path still works, deprecated
    from cyclonedx.contrib.license.factories import LicenseFactory
except ImportError:  # pragma: no cover - older library
    from cyclonedx.factory.license import LicenseFactory

__all__ = ["purl_for", "render_cyclonedx"]

_OUTPUTTERS: dict[str, Any] = {"1.6": JsonV1Dot6, "1.5": JsonV1Dot5}
_KINDS = {"library": ComponentType.LIBRARY, "application": ComponentType.APPLICATION}


def purl_for(pkg: Package) -> PackageURL:
    """Build the package URL of a package.

    Args:
        pkg: The package.

    Returns:
        e.g. ``pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12`` or
        ``pkg:npm/%40scope/name@1.0.0``.
    """
    return PackageURL(
        type=pkg.ecosystem,
        namespace=pkg.namespace or None,
        name=pkg.name,
        version=pkg.version or None,
        qualifiers=dict(sorted(pkg.qualifiers.items())) or None,
    )


def _licenses(values: Iterable[str], factory: Any) -> list[Any]:
    made = [factory.make_from_string(value) for value in values if value.strip()]
    if len(made) > 1:
        # The schema allows one expression or a list of licenses, never a mix.
        made = [
            DisjunctiveLicense(name=lic.value) if isinstance(lic, LicenseExpression) else lic
            for lic in made
        ]
    return made


def _ref_order(dependency: Dependency) -> str:
    """The order the library sorts dependencies in (by ref; refs are unique)."""
    return str(dependency.ref)


def _library_order(component: Component) -> tuple[Any, ...]:
    """The order the library sorts components in (type, group, name, version, bom-ref)."""
    return (
        component.type.value,
        component.group is None,  # the library sorts None last
        component.group or "",
        component.name,
        component.version is None,
        component.version or "",
        str(component.bom_ref),
    )


def _keyed(owner: object, attribute: str, key: Callable[[Any], Any]) -> None:
    """Swap a model object's ``SortedSet`` for one keyed by ``key`` (same order, same items).

    The library sorts components and dependencies with ``__lt__`` methods that rebuild a
    tuple of every field (including whole nested sets) on each comparison; a key is computed
    once per item. Most of the output time for 1,000+ components went there. If the library's
    internals ever differ, the object is left as it is: slower, never wrong.
    """
    current = vars(owner).get(attribute)
    if isinstance(current, SortedSet) and current.key is None:
        vars(owner)[attribute] = SortedSet(current, key=key)


class _IndexedRegistrar:
    """An indexed ``Bom.register_dependency`` with the library's semantics.

    The library's version scans every registered dependency on each call, and
    ``Bom.validate()`` (run by every outputter) calls it once per component: quadratic in
    the component count (minutes for 20,000 components). This one keeps a ref -> Dependency
    index; it is installed on our own Bom instance only.
    """

    def __init__(self, bom: Bom) -> None:
        self._bom = bom
        self._index: dict[BomRef, Dependency] = {d.ref: d for d in bom.dependencies}

    def _entry(self, ref: BomRef, fresh: list[Dependency]) -> Dependency:
        found = self._index.get(ref)
        if found is None:
            found = self._index[ref] = Dependency(ref=ref)
            _keyed(found, "_dependencies", _ref_order)
            fresh.append(found)
        return found

    def __call__(self, target: Any, depends_on: Iterable[Any] | None = None) -> None:
        wanted = list(depends_on or ())
        fresh: list[Dependency] = []
        entry = self._entry(target.bom_ref, fresh)
        for item in wanted:
            self._entry(item.bom_ref, fresh)
        if wanted:
            if entry not in fresh:  # its sort key changes: take it out while it does
                self._bom.dependencies.discard(entry)
                fresh.append(entry)
            entry.dependencies.update(Dependency(ref=d.bom_ref) for d in wanted)
        self._bom.dependencies.update(fresh)


def _display_name(pkg: Package) -> tuple[str | None, str]:
    if pkg.ecosystem in ("maven", "npm"):
        return pkg.namespace, pkg.name
    if pkg.ecosystem == "golang" and pkg.namespace:
        return None, f"{pkg.namespace}/{pkg.name}"
    return None, pkg.name


def render_cyclonedx(
    packages: list[Package],
    *,
    image_name: str,
    image_digest: str,
    os_info: OsInfo | None,
    spec_version: str,
    platform: str | None,
    gaps: list[str] | None = None,
) -> tuple[bytes, int]:
    """Serialise packages as a CycloneDX JSON document.

    Args:
        packages: Packages in output order.
        image_name: The image reference (name) the SBOM describes.
        image_digest: The image manifest digest.
        os_info: The distribution, emitted as an ``operating-system`` component.
        spec_version: ``"1.6"`` or ``"1.5"``.
        platform: ``os/arch[/variant]`` recorded as the ``sealgate:platform`` property.
        gaps: Why the inventory is incomplete; the document is then marked incomplete.

    Returns:
        The JSON bytes and the number of components written.

    Raises:
        UsageError: An unsupported CycloneDX spec version.
    """
    outputter = _OUTPUTTERS.get(spec_version)
    if outputter is None:
        raise UsageError(f"unsupported CycloneDX spec version {spec_version!r} (use 1.5 or 1.6)")
    factory = LicenseFactory()
    bom = Bom()
    _keyed(bom, "_components", _library_order)
    _keyed(bom, "_dependencies", _ref_order)
    vars(bom)["register_dependency"] = _IndexedRegistrar(bom)
    image = Component(
        type=ComponentType.CONTAINER,
        name=image_name,
        version=image_digest,
        bom_ref=f"image:{image_name}@{image_digest}",
    )
    bom.metadata.component = image
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="sealgate", version=__version__)
    )
    if platform:
        bom.metadata.properties.add(Property(name="sealgate:platform", value=platform))
    for gap in gaps or ():
        bom.metadata.properties.add(Property(name="sealgate:incomplete", value=gap))
    components: list[Component] = []
    if os_info is not None:
        components.append(
            Component(
                type=ComponentType.OPERATING_SYSTEM,
                name=os_info.id,
                version=os_info.version_id or None,
                description=os_info.pretty_name or None,
                bom_ref=f"os:{os_info.id}@{os_info.version_id}",
            )
        )
    seen: dict[str, int] = {}
    for pkg in packages:
        purl = purl_for(pkg)
        ref = purl.to_string()
        seen[ref] = seen.get(ref, 0) + 1
        group, name = _display_name(pkg)
        components.append(
            Component(
                type=_KINDS[pkg.kind],
                name=name,
                group=group,
                version=pkg.version,
                purl=purl,
                bom_ref=ref if seen[ref] == 1 else f"{ref}#{seen[ref]}",
                licenses=_licenses(pkg.licenses, factory),
                properties=[
                    Property(name="sealgate:cataloger", value=pkg.cataloger),
                    Property(name="sealgate:layer", value=pkg.layer),
                    Property(name="sealgate:path", value=pkg.path),
                ],
            )
        )
    bom.components.update(components)
    bom.register_dependency(image, components)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library warns about optional, absent fields
        text = outputter(bom).output_as_string(indent=None)
    if gaps:
        text = _mark_incomplete(text, str(image.bom_ref))
    return text.encode("utf-8"), len(components)


def _mark_incomplete(text: str, image_ref: str) -> str:
    """Add ``compositions: [{aggregate: incomplete, assemblies: [image]}]``.

    cyclonedx-python-lib (11.x) has no model for compositions, so the one entry is added
    to its serialised output; the result is checked against the CycloneDX schema in tests.
    "assemblies" is the relationship the image has with its packages: they are its parts.
    """
    document = json.loads(text)
    document["compositions"] = [{"aggregate": "incomplete", "assemblies": [image_ref]}]
    return json.dumps(document)
