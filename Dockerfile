# LAE Landscapes: the app served on port 5006 of the container.
#
#   docker build -t lae-landscapes .
#   docker run --rm -p 5006:5006 lae-landscapes                  # http://localhost:5006
#   docker run --rm -p 8080:5006 \
#     -e LAE_ALLOW_WEBSOCKET_ORIGIN=localhost:8080,landscapes.example.edu lae-landscapes
#
# LAE_ALLOW_WEBSOCKET_ORIGIN lists, comma-separated, the host[:port] a browser shows in its
# address bar when that is not localhost:5006 / 127.0.0.1:5006 (a published port other than
# 5006, a host name, a reverse proxy in front): the app refuses other origins' websockets, and
# without its websocket a page never draws. '*' is refused.
#
# tests/app/test_dockerfile.py lints this file (hadolint) and runs its CMD and HEALTHCHECK.
FROM python:3.11-slim-bookworm

# --tune-memory (the CMD) with PYTHONMALLOC=malloc: a server left running for a semester gives the
# memory of a class's sessions back to the system once they close (Python's own allocator keeps it
# for reuse instead), at some 20 % more server CPU per change under load. `serve --tune-memory`
# restarts itself under it when PYTHONMALLOC is unset; set here so the image's process starts
# with it. See docs/deploy.md.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONMALLOC=malloc \
    LAE_ALLOW_WEBSOCKET_ORIGIN=""

WORKDIR /app

# The pinned dependencies first: their layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# The package itself (its dependencies are the lock's), with static/ as its package data.
COPY pyproject.toml README.md ./
COPY lae_core/ lae_core/
COPY app/ app/
COPY static/ static/
RUN pip install --no-cache-dir --no-deps .

# A non-root user; numeric in USER so a runtime (Kubernetes' runAsNonRoot) can check it.
RUN groupadd --gid 10001 lae \
    && useradd --uid 10001 --gid lae --create-home --no-log-init --shell /usr/sbin/nologin lae
USER 10001:10001

EXPOSE 5006

# Panel's /liveness answers 200 once the server is up (slim has no curl: Python's urllib).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5006/liveness', timeout=4)"]

CMD ["lae-landscapes", "serve", "--address", "0.0.0.0", "--port", "5006", "--tune-memory"]
