#!/bin/sh
# HDFS rack resolver (net.topology.script.file.name). HDFS passes up to
# net.topology.script.number.args host names or IPs; print one rack path per argument,
# in order. Hosts not in racks.csv (clients, 127.0.0.1, new nodes) go to /default-rack.
# REID_LOOPBACK_NET (e.g. 127.0.3) moves local_ip onto that /24, as hadoop/topology.py does.
table="$(dirname "$0")/racks.csv"
exec awk -F, -v table="$table" -v net="${REID_LOOPBACK_NET:-}" '
  BEGIN {
    while ((getline line < table) > 0) {
      if (line ~ /^#/ || line ~ /^host,/ || line == "") continue
      split(line, f, ",")
      if (net != "") { n = split(f[3], o, "."); f[3] = net "." o[n] }
      rack[f[1]] = f[5]; rack[f[3]] = f[5]; rack[f[4]] = f[5]
    }
    for (i = 1; i < ARGC; i++) print ((ARGV[i] in rack) ? rack[ARGV[i]] : "/default-rack")
    exit
  }' "$@"
