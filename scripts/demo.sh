#!/usr/bin/env bash
# The main job end to end: a local CNCF registry, sample images, a key pair, sign by digest,
# generate and attest CycloneDX SBOMs, verify, a tampered image rejected, and the deploy gate
# (staging soft-fails, production blocks with exit code 2), plus the audited emergency bypass,
# and the admission webhook admitting a signed pod and denying an unsigned one.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

work=$(mktemp -d /tmp/sealgate-demo.XXXXXX)
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
host="127.0.0.1:$port"
cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/storage}
  delete: {enabled: true}
http: {addr: "$host"}
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  python -c "import urllib.request; urllib.request.urlopen('http://$host/v2/', timeout=1)" 2>/dev/null && break
  sleep 0.2
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect() {  # expect CODE command...: run, show, and fail the demo if the exit code differs
  local want=$1; shift
  set +e; "$@"; local got=$?; set -e
  if [ "$got" -ne "$want" ]; then echo "demo: expected exit $want, got $got: $*" >&2; exit 1; fi
  echo "-> exit code $got (expected)"
}
flags=(--insecure-registry "$host")

step "1. a CNCF distribution registry on $host; sample images pushed"
eval "$(python scripts/demo/images.py "$host" | sed 's/^/img_/')"
echo "api=$img_api worker=$img_worker web=$img_web"

step "2. generate a cosign-format key pair (ENCRYPTED SIGSTORE PRIVATE KEY, mode 0600)"
export COSIGN_PASSWORD=demo-password
(cd "$work" && sealgate generate-key-pair)
ls -l "$work"/cosign.key "$work"/cosign.pub

step "3. sign each image by digest (tags are resolved first) and attest a generated SBOM"
sealgate triangulate "${flags[@]}" "$img_api"
for img in "$img_api" "$img_worker" "$img_web"; do
  sealgate sign --key "$work/cosign.key" "${flags[@]}" "$img"
  sealgate attest --key "$work/cosign.key" --sbom "${flags[@]}" "$img"
done
sealgate tree "${flags[@]}" "$img_api"

step "4. verify: cosign-shaped JSON, and the SBOM attestation with a condition"
expect 0 sealgate verify --key "$work/cosign.pub" --insecure-ignore-tlog "${flags[@]}" "$img_api"
expect 0 sealgate verify-attestation --key "$work/cosign.pub" --insecure-ignore-tlog --type cyclonedx \
  --condition 'length(predicate.components) > `0`' "${flags[@]}" "$img_api" >/dev/null
sealgate sbom "${flags[@]}" "$img_api" | python -c 'import json,sys; d=json.load(sys.stdin); print("SBOM components:", ", ".join(c["name"]+"@"+c.get("version","") for c in d["components"]))'

step "5. an attacker pushes different content under worker's tag: verification rejects it"
python scripts/demo/images.py "$host" --tamper >/dev/null
expect 10 sealgate verify --key "$work/cosign.pub" --insecure-ignore-tlog "${flags[@]}" "$img_worker"

step "6. the deploy gate: every image of the environment, before Helm runs"
mkdir -p "$work/deploy"
cat >"$work/deploy/staging2-versions.yaml" <<YAML
api: $img_api
worker: $img_worker
web: {repository: ${img_web%:*}, tag: "${img_web##*:}"}
YAML
cp "$work/deploy/staging2-versions.yaml" "$work/deploy/app-eu2-versions.yaml"
cat >"$work/sealgate.yaml" <<YAML
keys: [cosign.pub]
tlog: false
insecureRegistries: ["$host"]
attestations:
  - {type: cyclonedx, conditions: ["length(predicate.components) > \`0\`"]}
cache: {dir: .sealgate-cache, ttl: 3600}
auditLog: sealgate-audit.jsonl
environments:
  staging2: {versions: deploy/staging2-versions.yaml, softFail: true, tier: staging}
  app-eu2:  {versions: deploy/app-eu2-versions.yaml, softFail: false, tier: production}
YAML
echo "-- staging2 (softFail: warns, deploy continues)"
expect 0 sealgate gate --env staging2 --config "$work/sealgate.yaml"
echo "-- app-eu2 (production: hard fail)"
expect 2 sealgate gate --env app-eu2 --config "$work/sealgate.yaml" --junit "$work/junit.xml"

step "7. emergency bypass: loud, audited, and reminded on every later run"
COSIGN_VERIFY_DISABLED=true GITHUB_ACTOR=release-bot GITHUB_RUN_ID=4711 \
  expect 0 sealgate gate --env app-eu2 --config "$work/sealgate.yaml"
echo "audit log:"; cat "$work/sealgate-audit.jsonl"

step "8. re-sign the fixed image; production passes; warm run served from the cache"
python scripts/demo/images.py "$host" >/dev/null   # the real worker image again
sealgate sign --key "$work/cosign.key" "${flags[@]}" "$img_worker" 2>/dev/null
expect 0 sealgate gate --env app-eu2 --config "$work/sealgate.yaml" --pin-output "$work/pins.yaml"
cat "$work/pins.yaml"

step "9. the admission webhook: a signed pod admitted (and pinned), an unsigned one denied"
python scripts/demo/images.py "$host" --tamper >/dev/null   # worker's tag: unsigned content again
{
  printf 'apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n'
  printf 'metadata: {name: demo-signed, annotations: {"sealgate.dev/mutate-digest": "true"}}\n'
  printf 'spec:\n  images: [{glob: "%s/**"}]\n  authorities:\n    - name: release\n' "$host"
  printf '      key:\n        data: |\n'
  sed 's/^/          /' "$work/cosign.pub"
} >"$work/webhook-policy.yaml"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/webhook-tls.key" -out "$work/webhook-tls.crt" 2>/dev/null
wport=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sealgate webhook serve --policy "$work/webhook-policy.yaml" --host 127.0.0.1 --port "$wport" \
  --tls-cert "$work/webhook-tls.crt" --tls-key "$work/webhook-tls.key" "${flags[@]}" \
  >"$work/webhook.log" 2>&1 &
webhook_pid=$!
trap 'kill $registry_pid $webhook_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  python -c "import ssl,urllib.request; urllib.request.urlopen('https://127.0.0.1:$wport/readyz', context=ssl.create_default_context(cafile='$work/webhook-tls.crt'), timeout=1)" 2>/dev/null && break
  sleep 0.2
done
expect 0 python scripts/demo/webhook.py "https://127.0.0.1:$wport" "$work/webhook-tls.crt" "$img_api" "$img_worker"
echo "webhook log (JSON lines, one per review):"; grep '"review ' "$work/webhook.log" | tail -3

printf '\n\033[1mdemo complete\033[0m: files in %s\n' "$work"
