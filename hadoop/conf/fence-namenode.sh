#!/bin/sh
# Fencing for the HA profile on one host (dfs.ha.fencing.methods = shell(this script)).
#
# Before a failover controller makes its NameNode active, it asks this script to make sure the
# NameNode that was active can no longer act. Hadoop passes the old active's address as
# $target_host; the local launcher gives every ZKFC REID_RUN_DIR. The script finds that
# NameNode's JVM from the launcher's pid file, checked against the marker the launcher puts on
# its command line (-Dreidhdfs.daemon=<run dir>/<host>), SIGKILLs it and waits until it is gone; exit 0 means
# "fenced" (also when it was already dead: a NameNode killed -9 must not block the failover).
#
# Why this is a safe fence here: every daemon runs on this machine, so the fencer sees the old
# NameNode's process directly; no network partition can hide a live NameNode from it, and once
# the process is gone nothing can answer in its name. (Across hosts a kill over the network is
# only as good as the network; there `sshfence` or a power fence is used, and the quorum
# journal alone already refuses edits from an old active, whose epoch is stale.)
set -eu
: "${REID_RUN_DIR:?REID_RUN_DIR is not set: only the local launcher's ZKFCs can fence}"
: "${target_host:?Hadoop passes the NameNode to fence as target_host}"
table="$(dirname "$0")/racks.csv"
name=$(awk -F, -v ip="$target_host" -v net="${REID_LOOPBACK_NET:-}" '
  /^#/ || /^host,/ || $0 == "" { next }
  $2 == "namenode" {
    local_ip = $3
    if (net != "") { n = split(local_ip, o, "."); local_ip = net "." o[n] }
    if (local_ip == ip || $4 == ip || $1 == ip) { print $1; exit }
  }' "$table")
if [ -z "$name" ]; then
  echo "fence: $target_host is not a namenode row of $table" >&2
  exit 1
fi
marker="-Dreidhdfs.daemon=$REID_RUN_DIR/$name"
pids=""
pid=$(cat "$REID_RUN_DIR/$name/$name.pid" 2>/dev/null || true)
# only if that pid is still this NameNode's JVM (a stale pid file may name another process)
if [ -n "$pid" ] && { tr '\0' '\n' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -qxF -e "$marker"
then
  pids="$pid"
fi
for pid in $pids; do
  kill -9 "$pid" 2>/dev/null || true
done
tries=0
for pid in $pids; do
  while kill -0 "$pid" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then
      echo "fence: $name (pid $pid) is still alive 10 s after SIGKILL" >&2
      exit 1
    fi
    sleep 0.1
  done
done
echo "fence: $name at $target_host is down${pids:+ (killed pid $pids)}"
