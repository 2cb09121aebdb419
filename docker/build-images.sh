#!/usr/bin/env bash
# `make images`: build the HDFS and jobs images (Dockerfile targets hdfs, jobs) from this tree.
# Docker's layer cache makes a second run take seconds; only changed inputs rebuild.
# Needs `make setup` first: the HDFS image takes its Hadoop jars from hadoop/lib (Maven) and
# the plug-in jars from hadoop/*/target, so both deployments run the same Hadoop.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<hadoop.version>\(.*\)</hadoop.version>.*:\1:p' hadoop/pom.xml | head -1)
[ -n "$version" ] || { echo "error: hadoop/pom.xml has no <hadoop.version>" >&2; exit 1; }
ls hadoop/lib/hadoop-hdfs-client-*.jar >/dev/null 2>&1 \
  || { echo "error: hadoop/lib has no Hadoop jars: run \`make setup\`" >&2; exit 1; }

# BuildKit (cache and secret mounts): the `docker build` of a client with buildx, or a
# pre-23 client (Debian's docker.io) with DOCKER_BUILDKIT=1.
pick_client() {
  local c
  for c in ${DOCKER:-} docker /usr/bin/docker; do
    command -v "$c" >/dev/null || continue
    if "$c" buildx version >/dev/null 2>&1; then echo "$c"; return; fi
    local major; major=$("$c" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
    if [ -n "$major" ] && [ "$major" -lt 23 ]; then echo "$c"; return; fi
  done
  echo "error: no docker client with BuildKit (install docker-buildx, or Debian's docker.io)" >&2
  exit 1
}
client=$(pick_client)
export DOCKER_BUILDKIT=1
base=$(DOCKER="$client" docker/base-image.sh)

args=(--build-arg "BASE=$base")
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -f "$ca" ] && args+=(--secret "id=cacert,src=$ca")

began=$(date +%s)
echo "==> [images] reid-hdfs/hadoop:$version (FROM $base)"
"$client" build -q "${args[@]}" --target hdfs -t "reid-hdfs/hadoop:$version" . >/dev/null
echo "==> [images] reid-hdfs/jobs:$version (first build downloads torch's wheels: minutes)"
"$client" build -q "${args[@]}" --target jobs -t "reid-hdfs/jobs:$version" . >/dev/null
echo "==> [images] built in $(( $(date +%s) - began )) s"
"$client" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | sed -n 's/^reid-hdfs\//    reid-hdfs\//p'
