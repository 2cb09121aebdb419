# The project's two images, built from its own bits by `make images` (docker/build-images.sh):
#   --target hdfs  reid-hdfs/hadoop:<hadoop.version>  NameNode/DataNodes: Debian's JRE 17, the
#                  Hadoop jars Maven put in hadoop/lib, the placement plug-in, hadoop/conf; the
#                  daemons start through hadoop.container, i.e. with the local launcher's JVM
#                  command line (hadoop.jvm), so both deployments run identical Hadoop.
#   --target jobs  reid-hdfs/jobs  Spark master/workers, spark-submit ingest, torchrun training,
#                  evaluation: the same runtime plus the project's venv.
# BASE defaults to the official Debian image; where Docker Hub cannot be reached,
# docker/base-image.sh makes the same Debian with debootstrap and passes it in.
# Hosts whose HTTPS goes through a local certificate authority pass their CA bundle as the
# optional build secret `cacert`; pip trusts it only when it is there.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openjdk-17-jre-headless python3 python3-venv procps \
 && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /reid

FROM runtime AS hdfs
# The secure overlay (docker-compose.secure.yml): its kdc container runs MIT's KDC and makes the
# keytabs (kadmin.local) and keystores (the JRE's keytool); the daemons' health checks speak
# SPNEGO through Debian's python3-gssapi.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      krb5-kdc krb5-admin-server krb5-user python3-gssapi \
 && rm -rf /var/lib/apt/lists/*
COPY hadoop/ hadoop/
ENV PYTHONPATH=/reid HADOOP_CONF_DIR=/reid/hadoop/conf
ENTRYPOINT ["python3", "-m", "hadoop.container"]

# setup.cfg's pinned install_requires alone, so that the venv layer below is rebuilt only when
# a dependency changes (not on every edit of setup.cfg or README.md).
FROM runtime AS requirements
COPY setup.cfg .
RUN python3 -c "import configparser; c = configparser.ConfigParser(); c.read('setup.cfg'); \
print(c['options']['install_requires'].strip())" > requirements.txt

FROM runtime AS jobs
# Dependencies first (torch brings several GB of CUDA wheels); the pip cache mount keeps the
# downloaded wheels across rebuilds of this layer.
COPY --from=requirements /reid/requirements.txt /tmp/requirements.txt
# gssapi (the Kerberos client of the secure profile) ships no wheel: pip builds it against MIT
# Kerberos's headers.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev python3-dev libkrb5-dev \
 && rm -rf /var/lib/apt/lists/*
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=cacert \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi \
 && python3 -m venv .venv \
 && .venv/bin/pip install -q --upgrade pip 'setuptools>=69' wheel \
 && .venv/bin/pip install -q -r /tmp/requirements.txt
# kinit, for the secure overlay's jobs containers (the service user's ticket cache); after the
# venv so that adding it did not re-download torch
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends krb5-user \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN .venv/bin/pip install -q --no-deps --no-build-isolation -e . \
 && SPARK_LOCAL_IP=127.0.0.1 spark_jobs/submit --build-class-archive >/dev/null 2>&1
ENV PATH=/reid/.venv/bin:/reid/hadoop/bin:$PATH HADOOP_CONF_DIR=/reid/hadoop/conf \
    OMP_NUM_THREADS=1
CMD ["bash"]
