# syntax=docker/dockerfile:1
# Partner Smart Office: the official Apache Airflow image + this project, installed from the lock.
#
#   docker build --pull --tag partner-smart-office:0.1.0 .
#
# - Base: the official *slim* image (core Airflow, no bundled providers), so requirements.txt — exported
#   from uv.lock, every file checked against its hash — is the whole Python environment; the regular image
#   would keep ~60 providers the lock never resolved beside it. AIRFLOW_IMAGE switches base if you must.
# - The project is installed in editable mode at /opt/airflow (AIRFLOW_HOME), so dags/, plugins/ and dbt/
#   sit exactly where the code and Airflow's defaults expect them.
# - The dbt manifest is built here (`smart-office dbt-parse`, placeholder connection values: parsing never
#   connects), so Cosmos renders the dbt task group from a JSON file instead of running dbt at parse time.
# - plugins/ is Airflow's plugins folder (its default, $AIRFLOW_HOME/plugins): Airflow puts it on sys.path,
#   where the smart_office package lives, and its .airflowignore keeps the plugin loader from importing the
#   package's modules one by one (tests/dags/test_plugins_folder.py).
# - Runs as the image's non-root `airflow` user (UID 50000, GID 0); one HEALTHCHECK serves every role.
# - Debian's headless Chromium (with DejaVu fonts, so the PDF's text is readable) prints the customer reports
#   (smart_office.reports.pdf, DAG smart_office_customer_reports); SMART_OFFICE_CHROMIUM_PATH names it.
ARG AIRFLOW_IMAGE=apache/airflow:slim-3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

LABEL org.opencontainers.image.title="partner-smart-office" \
      org.opencontainers.image.description="Security posture of every CSP customer: Airflow 3, dbt, PostgreSQL" \
      org.opencontainers.image.licenses="MIT"

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DO_NOT_TRACK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    SMART_OFFICE_CHROMIUM_PATH=/usr/bin/chromium

# Chromium for the reports' PDFs. Versions are not pinned (DL3008): the base image's Debian release decides
# them, and security updates must come with a rebuild. Its sandbox needs user namespaces, which the default
# seccomp profile of Docker and Kubernetes denies; smart_office.reports.pdf adds --no-sandbox only as root, so
# the launcher's drop-in adds it for the airflow user. What it prints is a local file, no host name resolving.
USER 0
# hadolint ignore=DL3008,SC2016
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && echo 'export CHROMIUM_FLAGS="$CHROMIUM_FLAGS --no-sandbox"' > /etc/chromium.d/smart-office-no-sandbox \
    && test -x /usr/bin/chromium

# Numeric, so Kubernetes can verify runAsNonRoot; 50000 is the image's `airflow` user, GID 0 as it expects.
USER 50000:0
WORKDIR /opt/airflow

# Dependencies first: this layer is rebuilt only when the lock changes. --require-hashes refuses any file
# whose hash is not in the lock; `pip check` fails the build on a conflict with what the base image ships.
COPY --chown=50000:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /opt/airflow/requirements.txt \
    && pip check

# The project itself (.dockerignore keeps out everything but the sources), without dependencies.
COPY --chown=50000:0 . /opt/airflow/
RUN pip install --no-cache-dir --no-deps --editable /opt/airflow \
    && smart-office dbt-parse \
    && test -s /opt/airflow/dbt/target/manifest.json

HEALTHCHECK --interval=30s --timeout=30s --start-period=60s --retries=5 \
    CMD ["python", "/opt/airflow/scripts/healthcheck.py"]
