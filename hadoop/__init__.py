"""The HDFS side of reid-hdfs: site configuration, the rack table, the local cluster launcher.

The XML files, ``racks.csv`` and ``topology.sh`` under ``hadoop/conf`` are the one configuration
shared by the docker-less launcher (``python -m hadoop.cluster``) and ``docker-compose.yml``.
"""
