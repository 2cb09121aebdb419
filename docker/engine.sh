#!/usr/bin/env bash
# A Docker engine for the compose stack on machines without systemd (our machines, CI):
#   docker/engine.sh start [DATA_ROOT]   use the running engine, or start dockerd (pid file
#                                        run/docker/dockerd.pid; storage DATA_ROOT, default
#                                        run/docker/data)
#   docker/engine.sh stop                stop the dockerd that `start` started, by its pid
# An engine this script did not start is never stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
state=run/docker
pidfile=$state/dockerd.pid
case "${1:-}" in
  start)
    if docker info >/dev/null 2>&1; then echo "==> [docker] engine already running"; exit 0; fi
    command -v dockerd >/dev/null || {
      echo "error: no Docker engine (install docker.io: apt-get install docker.io)" >&2; exit 1; }
    [ "$(id -u)" = 0 ] || { echo "error: starting dockerd needs root" >&2; exit 1; }
    root=$(realpath -m "${2:-$state/data}")
    mkdir -p "$state" "$root"
    echo "==> [docker] starting dockerd (data root $root, log $state/dockerd.log)"
    setsid dockerd --data-root "$root" -p "$pidfile" \
      >"$state/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 60); do
      docker info >/dev/null 2>&1 && exit 0
      sleep 1
    done
    echo "error: dockerd did not answer within 60 s; see $state/dockerd.log" >&2; exit 1 ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null && grep -qa dockerd "/proc/$pid/cmdline"; then
      echo "==> [docker] stopping dockerd (pid $pid)"
      kill "$pid"
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -f "$pidfile" ;;
  *) echo "usage: docker/engine.sh start [DATA_ROOT] | stop" >&2; exit 2 ;;
esac
