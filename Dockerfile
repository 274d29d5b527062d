# The Ticketstream services (gateway, worker, projector) for docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY ticketstream ./ticketstream
COPY schemas ./schemas
COPY streams ./streams
COPY projections ./projections
COPY connectors ./connectors
COPY dashboards ./dashboards
RUN pip install --upgrade pip && pip install .

RUN useradd --system --home /var/lib/ticketstream ticketstream \
    && mkdir -p /var/lib/ticketstream && chown ticketstream /var/lib/ticketstream
USER ticketstream
CMD ["ticketstream", "--help"]
