# R-NET non-curative resection risk calculator. Build: docker build -t rnet-calculator .
# Run:   docker run -p 8000:8000 rnet-calculator          (the shipped demonstration model)
#        docker run -p 8000:8000 -v /srv/models:/models:ro -e RNET_ARTIFACT=/models/ours.json rnet-calculator
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/rnet
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY templates ./templates
COPY static ./static
COPY model_artifacts ./model_artifacts
# Versions pinned by constraints.txt: the image runs what the tests ran.
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin rnet

USER rnet
# Settings (all RNET_*) are documented in the README; these make the server reachable in the container.
ENV RNET_HOST=0.0.0.0 \
    RNET_PORT=8000 \
    RNET_WORKERS=2
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["rnet", "serve"]
