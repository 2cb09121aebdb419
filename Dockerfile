# The image of docker-compose.yml's `reid` service: Spark ingest, torchrun training and
# evaluation, run against the compose HDFS cluster (whose daemons use apache/hadoop images).
#   docker compose up -d && docker compose --profile jobs run --rm reid
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /reid
COPY setup.cfg pyproject.toml README.md ./
COPY hadoop/__init__.py hadoop/*.py hadoop/
COPY hadoop/cluster hadoop/cluster
COPY hadoop/conf hadoop/conf
COPY ingest ingest
COPY spark_jobs spark_jobs
COPY training training
COPY scripts scripts
RUN python -m venv .venv && .venv/bin/pip install --no-cache-dir -e .
ENV HADOOP_CONF_DIR=/reid/hadoop/conf PYSPARK_PYTHON=/reid/.venv/bin/python \
    SPARK_CONF_DIR=/reid/spark_jobs/conf
CMD ["bash", "scripts/demo.sh"]
