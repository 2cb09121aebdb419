#!/usr/bin/env bash
# Compose v2+ (`docker compose`, the syntax users type and the compose spec this project's
# file uses: top-level `name:`, `depends_on: condition:`, `up --wait`). Kept if present;
# otherwise built from source with the Go toolchain into ~/.docker/cli-plugins: Debian
# bookworm ships only compose v1.29 (`docker-compose`, Python, end of life), and the Go
# module proxy serves github.com/docker/compose/v5.
set -euo pipefail
version=v5.6.0
have=$(docker compose version --short 2>/dev/null || true)
have=${have#v}
if [ -n "$have" ] && [ "${have%%.*}" -ge 2 ] 2>/dev/null; then exit 0; fi
command -v go >/dev/null || {
  echo "error: \`docker compose\` (v2+) is missing and there is no Go toolchain to build it;" \
       "install Docker's compose plugin (docker-compose-plugin) or Go" >&2; exit 1; }
echo "==> [compose] building docker compose $version from the Go module proxy (a few minutes)"
work=$(mktemp -d /tmp/reid-compose.XXXXXX)
trap 'rm -rf "$work"' EXIT
# its go.mod has replace/exclude directives, so it is built as the main module
GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v5@$version" >"$work/mod.json"
src=$(sed -n 's/.*"Dir": "\(.*\)",/\1/p' "$work/mod.json")
cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
mkdir -p "$HOME/.docker/cli-plugins"
(cd "$work/src" && go build -trimpath \
   -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$version" \
   -o "$HOME/.docker/cli-plugins/docker-compose" ./cmd)
docker compose version
