# syndicator as a container: `syndicator run` as a non-root user; feeds.yaml, the database and
# the published folder live on the volume /srv/syndicator (relative paths in feeds.yaml resolve
# against it). See README, "Deploying".
#
#   docker build -t syndicator .
#   docker run -d --name syndicator -p 127.0.0.1:8080:8080 \
#       -v /srv/syndicator:/srv/syndicator syndicator
#
# The volume must hold feeds.yaml and be writable by uid 10001.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/syndicator
COPY pyproject.toml README.md ./
COPY syndicator ./syndicator
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /srv/syndicator \
       --shell /usr/sbin/nologin syndicator \
    && mkdir -p /srv/syndicator \
    && chown syndicator:syndicator /srv/syndicator

USER syndicator
WORKDIR /srv/syndicator
VOLUME ["/srv/syndicator"]
ENV SYNDICATOR_CONFIG=/srv/syndicator/feeds.yaml \
    SYNDICATOR_LOG_LEVEL=INFO
EXPOSE 8080
# SIGTERM: stop scheduling, let fetches finish (5 s), close the database, exit 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
# Inside the container it must listen on every address for -p to reach it.
ENTRYPOINT ["syndicator"]
CMD ["run", "--host", "0.0.0.0", "--port", "8080"]
