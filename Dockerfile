# syntax=docker/dockerfile:1
# One image a service, from this one file, built from the repository root (the workspace
# is the build context):
#   docker build --build-arg SERVICE=intake -t csc-intake .
# SERVICE: intake, returns, capa, sla, notify or console (csc-<SERVICE> is its command).
# Both stages use one base image, so the virtual environment's interpreter links
# still point at the same Python in the runtime stage.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# The printed forms (att. 2-4, the PNPR, 8D / CPAR, the Register) embed a Chinese TrueType
# font; only the font file reaches the runtime image, not apt.
FROM ${PYTHON_IMAGE} AS fonts
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-arphic-uming \
 && rm -rf /var/lib/apt/lists/*

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "--build-arg SERVICE=<intake|returns|capa|sla|notify|console>" >&2; exit 1; }
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first, from the lock alone, so a source change reuses this layer.
COPY pyproject.toml uv.lock ./
COPY shared/contracts/pyproject.toml shared/contracts/
COPY shared/messaging/pyproject.toml shared/messaging/
COPY shared/devkit/pyproject.toml shared/devkit/
COPY shared/forms/pyproject.toml shared/forms/
COPY shared/audit/pyproject.toml shared/audit/
COPY services/intake/pyproject.toml services/intake/
COPY services/returns/pyproject.toml services/returns/
COPY services/capa/pyproject.toml services/capa/
COPY services/sla/pyproject.toml services/sla/
COPY services/console/pyproject.toml services/console/
COPY services/notify/pyproject.toml services/notify/
RUN uv sync --frozen --no-dev --no-editable --package csc-${SERVICE} --no-install-workspace
COPY shared/ shared/
COPY services/ services/
# Not editable: the environment must not point back into /src, which stays behind.
RUN uv sync --frozen --no-dev --no-editable --package csc-${SERVICE}
# The image's command, whichever service it holds.
RUN ln -s csc-${SERVICE} /app/.venv/bin/csc-service

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="csc-${SERVICE}" \
      org.opencontainers.image.description="Customer Service Control, its ${SERVICE} service" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="Customer Service Control" \
      org.opencontainers.image.licenses="LicenseRef-Proprietary" \
      org.opencontainers.image.documentation="deploy/README.md"
RUN groupadd --system --gid 10001 csc \
 && useradd --system --uid 10001 --gid csc --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin csc
# Owned by root and not writable by the service user: the code, the console's templates
# and catalogues (compiled in memory at start) cannot be changed at run time.
COPY --from=build /app/.venv /app/.venv
COPY --from=fonts /usr/share/fonts/truetype/arphic/uming.ttc /usr/share/fonts/truetype/arphic/uming.ttc
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CSC_HTTP_HOST=0.0.0.0 \
    CSC_HTTP_PORT=8080 \
    CSC_DATA_DIR=/var/lib/csc \
    CSC_LOG_FORMAT=json
RUN install -d -o 10001 -g 10001 -m 0750 /var/lib/csc
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (deploy/base/<service>/deployment.yaml).
ENTRYPOINT ["csc-service"]
CMD ["serve"]
