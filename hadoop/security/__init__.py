"""Secure HDFS: Kerberos (an MIT KDC), keytabs, HTTPS keystores and host names for the local
cluster's ``secure`` profile (README, "Secure cluster")."""
