"""Image sources: versions files, Helm values, rendered manifests, host rules, dedupe."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealgate.errors import ConfigError
from sealgate.gate import (
    ImageRules,
    ImageSpec,
    SourceLocation,
    collect_images,
    dedupe,
    environment_images,
    has_registry_host,
    images_from_text,
    load_config,
)
from sealgate.oci.reference import Reference

D1 = "sha256:" + "a" * 64


def refs(text: str, source: str = "app-versions.yaml", **kwargs: object) -> list[str]:
    return [str(i.ref) for i in images_from_text(text, source=source, **kwargs)]  # type: ignore[arg-type]


# --- versions files ---------------------------------------------------------------------------


def test_flat_service_map() -> None:
    text = "api: ghcr.io/acme/api:1.4.2\nweb: myacr.azurecr.io/web:2\n"
    assert refs(text) == ["ghcr.io/acme/api:1.4.2", "myacr.azurecr.io/web:2"]


def test_nested_blocks_with_registry_tag_digest_and_synonyms() -> None:
    text = f"""\
services:
  api:
    registry: ghcr.io
    repository: acme/api
    tag: "1.4.2"
    digest: {D1}
    pullPolicy: IfNotPresent
  worker: {{repo: ghcr.io/acme/worker, version: 7}}
  cron: {{image: ghcr.io/acme/cron, tag: "2024.1"}}
"""
    assert refs(text) == [
        f"ghcr.io/acme/api:1.4.2@{D1}",
        "ghcr.io/acme/worker:7",
        "ghcr.io/acme/cron:2024.1",
    ]


def test_lists_of_strings_and_mappings_nested_anywhere() -> None:
    text = """\
version: 3
generated: "2025-01-01"
x-owner: platform
images:
  - ghcr.io/acme/a:1
  - {repository: ghcr.io/acme/b, tag: "2"}
groups:
  backend:
    services:
      - name-less: ghcr.io/acme/c:3
"""
    assert refs(text) == ["ghcr.io/acme/a:1", "ghcr.io/acme/b:2", "ghcr.io/acme/c:3"]


def test_source_locations_record_file_line_and_path() -> None:
    text = (
        "services:\n  api: ghcr.io/acme/api:1\n"
        "  web:\n    repository: ghcr.io/acme/web\n    tag: '2'\n"
    )
    api, web = images_from_text(text, source="deploy/app-versions.yaml")
    assert api.text == "ghcr.io/acme/api:1"
    (loc,) = api.sources
    assert (loc.file, loc.line, loc.path) == ("deploy/app-versions.yaml", 2, "services.api")
    assert web.sources[0].line == 4 and web.sources[0].path == "services.web.repository"
    assert str(loc) == "deploy/app-versions.yaml:2 (services.api)"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("api: ghcr.io/a/b:1\nreplicas: 3\n", r"v\.yaml:2: unknown shape: int 3 at replicas"),
        ("api:\n", r"v\.yaml:1: empty value"),
        (
            "api: {repository: ghcr.io/a/b, tag: 1.10}\n",
            r"v\.yaml:1: tag 1\.1 is a YAML float; quote it",
        ),
        ("api: {repository: ghcr.io/a/b, tag: ''}\n", r"without tag or digest"),
        ("api: {repository: 'ghcr.io/a/b:1', tag: '2'}\n", r"tag both in repository and in tag"),
        ("api: ghcr.io/a/B:1\n", r"v\.yaml:1: invalid image reference.*lowercase"),
        ("api: 'oci:/tmp/layout'\n", r"OCI layout"),
        ("just some text\n", r"v\.yaml:1: invalid image reference"),
        ("{}\n", r"no images found"),
        ("", r"no images found"),
    ],
)
def test_versions_errors_name_file_and_line(text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        images_from_text(text, source="v.yaml")


def test_non_yaml_and_bombs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"v\.yaml:2: invalid YAML"):
        images_from_text("a: [1,\nb: ]]\n", source="v.yaml")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"b{i}: &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 10)}]\n" for i in range(12)
    )
    with pytest.raises(ConfigError, match=r"YAML aliases|expands"):
        images_from_text(bomb, source="v.yaml")


# --- registry host rules ------------------------------------------------------------------------


def test_images_without_registry_host_are_refused_with_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"v\.yaml:2: image 'nginx:1\.25' has no registry host"):
        images_from_text("api: ghcr.io/a/b:1\nweb: nginx:1.25\n", source="v.yaml")
    with pytest.raises(ConfigError, match="has no registry host"):
        images_from_text("web: library/nginx:1.25\n", source="v.yaml")


def test_docker_hub_shorthand_when_allowed() -> None:
    rules = ImageRules(allow_docker_hub_shorthand=True)
    assert refs("web: nginx:1.25\n", rules=rules) == ["index.docker.io/library/nginx:1.25"]
    assert refs("web: docker.io/nginx:1.25\n") == ["index.docker.io/library/nginx:1.25"]


def test_default_registry_prefix() -> None:
    rules = ImageRules(default_registry="mirror.example.com")
    assert refs("web: nginx:1.25\n", rules=rules) == ["mirror.example.com/nginx:1.25"]
    assert refs("web: localhost:5000/app:1\n", rules=rules) == ["localhost:5000/app:1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nginx", False),
        ("library/nginx:1", False),
        ("ghcr.io/a/b", True),
        ("localhost/a", True),
        ("localhost:5000/a", True),
        ("127.0.0.1:5000/a", True),
        ("[::1]:5000/a", True),
        ("MyRegistry/a", True),
    ],
)
def test_has_registry_host(text: str, expected: bool) -> None:
    assert has_registry_host(text) is expected


# --- Helm values ---------------------------------------------------------------------------------

VALUES = """\
replicaCount: 2
nameOverride: my-app
image:
  registry: ghcr.io
  repository: acme/api
  tag: "1.4.2"
  pullPolicy: IfNotPresent
sidecar:
  enabled: true
  image: "ghcr.io/acme/sidecar:3"
metrics:
  exporterImage: {repository: ghcr.io/acme/exporter, digest: @D1@}
service:
  annotations: {example.com/owner: "team-a"}
global:
  imagePullSecrets: []
""".replace("@D1@", D1)


def test_helm_values_blocks_and_strings_anywhere() -> None:
    assert refs(VALUES, source="values-prod.yaml") == [
        "ghcr.io/acme/api:1.4.2",
        "ghcr.io/acme/sidecar:3",
        f"ghcr.io/acme/exporter@{D1}",
    ]


def test_helm_values_image_maps_and_ignored_fields() -> None:
    text = (
        "images:\n  api: ghcr.io/acme/api:1\n  pullPolicy: Always\nimage:\n  pullPolicy: Always\n"
    )
    assert refs(text, source="values.yaml") == ["ghcr.io/acme/api:1"]


def test_helm_values_chosen_by_name_or_explicitly() -> None:
    with pytest.raises(ConfigError, match="unknown shape"):
        images_from_text(VALUES, source="app-versions.yaml")
    assert len(images_from_text(VALUES, source="x.yaml", fmt="helm-values")) == 3
    assert len(images_from_text(VALUES, source="prod.values.yaml")) == 3


def test_helm_values_partial_override_and_templates_fail_closed() -> None:
    with pytest.raises(ConfigError, match=r"values\.yaml:1: image block without repository"):
        images_from_text("image: {tag: '1.2'}\n", source="values.yaml")
    with pytest.raises(ConfigError, match="invalid image reference"):
        images_from_text("image: '{{ .Values.x }}'\n", source="values.yaml")


# --- rendered manifests ---------------------------------------------------------------------------

MANIFESTS = """\
# Source: app/templates/service.yaml
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/migrate:1
      containers:
        - name: api
          image: ghcr.io/acme/api:1
        - name: proxy
          image: ghcr.io/acme/proxy:1
      ephemeralContainers:
        - name: debug
          image: ghcr.io/acme/debug:1
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, image: "ghcr.io/acme/nightly:1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: p, image: ghcr.io/acme/pod:1}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec: {template: {spec: {containers: [{name: r, image: ghcr.io/acme/rollout:1}]}}}
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: StatefulSet
    spec: {template: {spec: {containers: [{name: s, image: ghcr.io/acme/sts:1}]}}}
  - apiVersion: apps/v1
    kind: DaemonSet
    spec: {template: {spec: {containers: [{name: d, image: ghcr.io/acme/ds:1}]}}}
  - apiVersion: apps/v1
    kind: ReplicaSet
    spec: {template: {spec: {containers: [{name: rs, image: ghcr.io/acme/rs:1}]}}}
  - apiVersion: batch/v1
    kind: Job
    spec: {template: {spec: {containers: [{name: j, image: ghcr.io/acme/job:1}]}}}
  - apiVersion: v1
    kind: ReplicationController
    spec: {template: {spec: {containers: [{name: rc, image: ghcr.io/acme/rc:1}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {image: "not-an-image-just-data"}
---
"""


def test_every_workload_kind_and_container_list() -> None:
    assert refs(MANIFESTS, source="rendered.yaml") == [
        "ghcr.io/acme/migrate:1",
        "ghcr.io/acme/api:1",
        "ghcr.io/acme/proxy:1",
        "ghcr.io/acme/debug:1",
        "ghcr.io/acme/nightly:1",
        "ghcr.io/acme/pod:1",
        "ghcr.io/acme/rollout:1",
        "ghcr.io/acme/sts:1",
        "ghcr.io/acme/ds:1",
        "ghcr.io/acme/rs:1",
        "ghcr.io/acme/job:1",
        "ghcr.io/acme/rc:1",
    ]


def test_manifest_locations_include_document_and_path() -> None:
    images = images_from_text(MANIFESTS, source="rendered.yaml")
    nightly = next(i for i in images if "nightly" in i.text)
    (loc,) = nightly.sources
    assert loc.document == 2
    assert loc.path == "spec.jobTemplate.spec.template.spec.containers[0].image"
    assert loc.line == 34
    debug = next(i for i in images if "debug" in i.text)
    assert debug.sources[0].path == "spec.template.spec.ephemeralContainers[0].image"


def test_manifest_errors() -> None:
    bad = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: x\n"
    with pytest.raises(ConfigError, match=r"m\.yaml:5: container without an image"):
        images_from_text(bad, source="m.yaml")
    mixed = (
        "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a, image: ghcr.io/a/b:1}]}\n"
        "---\n- x\n"
    )
    with pytest.raises(ConfigError, match="document 1 is not a Kubernetes object"):
        images_from_text(mixed, source="m.yaml")
    with pytest.raises(ConfigError, match="has no registry host"):
        images_from_text(
            "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a, image: nginx}]}\n", source="m"
        )


# --- dedupe, files, stdin -------------------------------------------------------------------


def test_dedupe_merges_sources_across_files(tmp_path: Path) -> None:
    a = tmp_path / "a-versions.yaml"
    b = tmp_path / "b-versions.yaml"
    a.write_text("api: ghcr.io/acme/api:1\nweb: ghcr.io/acme/web:1\n")
    b.write_text("other: ghcr.io/acme/api:1\napi-again: ghcr.io/acme/api:1\n")
    images = collect_images([a, b])
    assert [i.text for i in images] == ["ghcr.io/acme/api:1", "ghcr.io/acme/web:1"]
    assert [(s.file, s.line) for s in images[0].sources] == [(str(a), 1), (str(b), 1), (str(b), 2)]


def test_docker_hub_spellings_dedupe_to_one_image() -> None:
    rules = ImageRules(allow_docker_hub_shorthand=True)
    text = "a: nginx:1.25\nb: docker.io/library/nginx:1.25\nc: index.docker.io/nginx:1.25\n"
    (image,) = images_from_text(text, source="v.yaml", rules=rules)
    assert len(image.sources) == 3


def test_stdin_and_missing_files(tmp_path: Path) -> None:
    first = collect_images(["-"], stdin=MANIFESTS.encode())[0]
    assert first.text == "ghcr.io/acme/migrate:1"
    with pytest.raises(ConfigError, match="no standard input"):
        collect_images(["-"])
    with pytest.raises(ConfigError, match="cannot read"):
        collect_images([tmp_path / "nope.yaml"])


def test_environment_images_from_config(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy/app-versions.yaml").write_text("web: nginx:1.25\n")
    (tmp_path / "sealgate.yaml").write_text(
        "keys: [k.pub]\nallowDockerHubShorthand: true\n"
        "environments:\n  dev: {versions: 'deploy/*-versions.yaml'}\n"
    )
    env = load_config(tmp_path / "sealgate.yaml").environment("dev")
    (image,) = environment_images(env)
    assert str(image.ref) == "index.docker.io/library/nginx:1.25"


@pytest.mark.parametrize(
    ("text", "line"),
    [("api: ghcr.io/acme/api:1.0\nweb: ghcr.io/acme/\x7fweb:1\n", 2), ("api: !!int x\n", 1)],
)
def test_yaml_library_errors_in_versions_files_are_config_errors(
    tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / "app-versions.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"app-versions\.yaml:{line}: invalid YAML"):
        collect_images([path])


def test_many_duplicate_references_merge_in_linear_time() -> None:
    # 100k entries naming one image (and 100k naming it from one place): quadratic merging took
    # minutes here; linear merging takes a fraction of a second.
    ref = Reference.parse("ghcr.io/acme/api:1.0")
    spread = [
        ImageSpec(ref, "ghcr.io/acme/api:1.0", (SourceLocation("v.yaml", n + 1, f"[{n}]"),))
        for n in range(100_000)
    ]
    same = [ImageSpec(ref, "ghcr.io/acme/api:1.0", (SourceLocation("v.yaml", 1, "api"),))] * 100_000
    (merged,) = dedupe(spread + same)
    assert len(merged.sources) == 100_001
    assert merged.sources[0].line == 1 and merged.sources[-1].path == "api"
    assert [s.line for s in merged.sources[:3]] == [1, 2, 3]


def test_rendered_manifests_include_image_volumes() -> None:
    # An image volume is pulled like a container image: the gate must verify it too.
    text = (
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n"
        "      image: ghcr.io/acme/api:1.4\n  volumes:\n    - name: m\n"
        "      image:\n        reference: ghcr.io/acme/models:7\n"
    )
    assert refs(text, source="pod.yaml") == ["ghcr.io/acme/api:1.4", "ghcr.io/acme/models:7"]
