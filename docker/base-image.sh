#!/usr/bin/env bash
# Print the name of a Debian bookworm base image the engine has, making one if need be.
#   1. REID_BASE_IMAGE (default: the official debian:bookworm-slim) if the engine has it or can
#      pull it: a machine that reaches Docker Hub builds from the official image;
#   2. otherwise reid-hdfs/debian:bookworm, made here the way the official images are made:
#      `debootstrap --variant=minbase bookworm` from Debian's mirror, then `docker import`.
# The Dockerfiles are `FROM ${BASE}`, so both paths build the same thing.
set -euo pipefail
DOCKER=${DOCKER:-docker}
official=${REID_BASE_IMAGE:-debian:bookworm-slim}
fallback=reid-hdfs/debian:bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

have() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
if have "$official"; then echo "$official"; exit 0; fi
if timeout 60 "$DOCKER" pull -q "$official" >/dev/null 2>&1; then echo "$official"; exit 0; fi
if have "$fallback"; then echo "$fallback"; exit 0; fi

echo "==> [images] $official cannot be pulled: debootstrap bookworm into $fallback" >&2
command -v debootstrap >/dev/null || {
  echo "error: cannot pull $official and debootstrap is missing (apt-get install debootstrap)" >&2
  exit 1; }
rootfs=$(mktemp -d /tmp/reid-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2
# the official image's sources (updates and security too) and its no-cache apt settings
rm -f "$rootfs/etc/apt/sources.list"
cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: ${mirror}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror}-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" --numeric-owner -c . | "$DOCKER" import -c 'CMD ["bash"]' - "$fallback" >/dev/null
echo "$fallback"
