# The README's two commands are `make demo` and `make test`; both set up what they need first.
# Every set-up step is guarded by a stamp, so a second run does no reinstall.

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
MVN         := mvn -B -q
VENV_STAMP  := $(VENV)/.installed
JAVA_STAMP  := hadoop/lib/.built
SPARK_CDS   := $(VENV)/spark-driver.jsa
JAVA_INPUTS := $(shell find hadoop -name pom.xml -o -name '*.java' -not -path '*/target/*')

.PHONY: setup system-packages demo test lint typecheck java-test pytest \
        cluster-up cluster-down cluster-status compose clean \
        docker-tools images compose-up compose-down demo-compose demo-compose-secure test-compose

setup: system-packages $(VENV_STAMP) $(JAVA_STAMP) $(SPARK_CDS)

# Debian packages: Java 17 and Maven run Hadoop and build its plug-ins; MIT Kerberos (KDC,
# kadmin.local, kinit) runs the secure profile's realm, and libkrb5-dev builds Python's gssapi.
# Installed only if missing.
DEB_PACKAGES := openjdk-17-jdk-headless maven krb5-kdc krb5-admin-server krb5-user libkrb5-dev
system-packages:
	@for tool in java mvn krb5kdc kadmin.local kinit krb5-config; do \
	  PATH="$$PATH:/usr/sbin" command -v $$tool >/dev/null || missing=1; done; \
	  [ -z "$$missing" ] || { \
	  echo "==> [setup] installing Debian packages: $(DEB_PACKAGES)"; \
	  if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	    echo "error: these Debian packages are required: apt-get install $(DEB_PACKAGES)" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PACKAGES); }

$(VENV_STAMP): setup.cfg pyproject.toml
	@echo "==> [setup] Python environment in $(VENV) (first run downloads torch, pyspark: a few minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --progress-bar on -e '.[dev]'
	@touch $@

$(JAVA_STAMP): $(JAVA_INPUTS)
	@echo "==> [setup] Hadoop jars from Maven Central into hadoop/lib, and the project's plug-ins"
	$(MVN) -f hadoop/pom.xml -DskipTests package
	@touch $@

# Spark's classes as the driver JVM loads them, dumped once so each spark_jobs/submit maps them
# instead of parsing jars, a large part of a Spark session's start-up. Rebuilt with the venv.
$(SPARK_CDS): $(VENV_STAMP) spark_jobs/warmup.py spark_jobs/submit
	@echo "==> [setup] class-data archive for the Spark driver JVM"
	@SPARK_LOCAL_IP=127.0.0.1 spark_jobs/submit --build-class-archive

demo: setup
	@MARS="$(MARS)" SEED="$(SEED)" bash scripts/demo.sh

test: setup lint typecheck java-test pytest

lint: $(VENV_STAMP)
	@echo "==> [test] ruff"
	@$(VENV)/bin/ruff check .

typecheck: $(VENV_STAMP)
	@echo "==> [test] mypy"
	@$(VENV)/bin/mypy

java-test: $(JAVA_STAMP)  # online: surefire fetches its JUnit provider on the first test run
	@echo "==> [test] JUnit (hadoop/)"
	@$(MVN) -f hadoop/pom.xml test

pytest: $(VENV_STAMP) $(JAVA_STAMP) $(SPARK_CDS)
	@echo "==> [test] pytest"
	@$(PY) -m pytest; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc

cluster-up: setup
	@$(PY) -m hadoop.cluster up

cluster-down: $(VENV_STAMP)
	@$(PY) -m hadoop.cluster down

cluster-status: $(VENV_STAMP)
	@$(PY) -m hadoop.cluster status

compose: $(VENV_STAMP)
	@$(PY) -m hadoop.compose --write docker-compose.yml

# ---- docker-compose: the same system as a multi-host stack (README "Docker compose") -------
# DOCKER_ROOT: where a dockerd started here keeps its images (none is started if one answers).
# PROFILE=ha or PROFILE=secure: `make compose-up PROFILE=ha` adds that overlay
# (docker-compose.ha.yml: NameNode HA; docker-compose.secure.yml: Kerberos, privacy, HTTPS).
DOCKER_ROOT ?= run/docker/data
COMPOSE_ALL := -f docker-compose.yml -f docker-compose.secure.yml -f docker-compose.ha.yml
COMPOSE_UP  := -f docker-compose.yml $(if $(PROFILE),-f docker-compose.$(PROFILE).yml)

docker-tools:
	@{ docker info >/dev/null 2>&1 || command -v dockerd >/dev/null; } \
	  && { command -v debootstrap >/dev/null || [ "$$(id -u)" != 0 ]; } || { \
	  echo "==> [setup] installing Debian packages: docker.io debootstrap"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap; }
	@bash docker/engine.sh start $(DOCKER_ROOT)
	@bash docker/install-compose.sh

images: setup docker-tools
	@bash docker/build-images.sh

compose-up: images
	docker compose $(COMPOSE_UP) up -d --wait --wait-timeout 600

# with every overlay's files: the secure stack's kdc and keytab volumes and the HA services and
# volumes go as well, whichever stack ran (a plain stack is unaffected)
compose-down:
	docker compose $(COMPOSE_ALL) down -v --remove-orphans

demo-compose: images
	@$(PY) -m benchmarks.compose

# the same stack with the secure overlay (README "The secure profile in docker-compose")
demo-compose-secure: images
	@$(PY) -m benchmarks.compose_secure --down

# The end-to-end compose test (~15 min; not part of `make test`/.ci/run, see README).
test-compose: images
	@$(PY) -m pytest -v -s -m docker --docker tests/compose; rc=$$?; \
	  docker compose $(COMPOSE_ALL) down -v --remove-orphans >/dev/null 2>&1; \
	  bash docker/engine.sh stop; exit $$rc

clean:
	rm -rf run reports hadoop/lib hadoop/*/target
