# trawler container image: built on Debian 12, run on Debian 12 with only the shared
# libraries the binary links, as the non-root user trawler (uid 10001).
#   docker build -t trawler .
#   docker run --rm trawler --version
#   docker run --rm -v "$PWD/out:/data" --user "$(id -u):$(id -g)" trawler crawl https://example.com/ -o /data/example.jsonl
#   docker run -d -p 8080:8080 -v trawler-data:/data -v "$PWD/trawler-config:/config:ro" trawler
#     (serve: trawler-config/service.yaml sets api.listen 0.0.0.0:8080, api.token, api.data_dir /data)
# scripts/check-image.sh builds and runs this image with podman where no Docker engine runs.

FROM debian:bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake make pkg-config ccache \
      libboost1.81-dev libboost-url1.81-dev libgumbo-dev nlohmann-json3-dev libyaml-cpp-dev \
      libssl-dev zlib1g-dev libbrotli-dev libre2-dev libpsl-dev libsqlite3-dev libhiredis-dev libzstd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the `trawler` target needs, so edits to tests, docs or benches keep the cache.
COPY CMakeLists.txt CMakePresets.json ./
COPY service/ service/
ARG JOBS=2
# The cache mount keeps ccache's objects between builds (the top-level CMakeLists.txt uses
# ccache when present): a rebuild after a small edit takes a minute, not a quarter hour.
# The build tree is removed in the same step so that the layer holds only /out.
ENV CCACHE_DIR=/ccache
RUN --mount=type=cache,target=/ccache \
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTRAWLER_BUILD_TESTS=OFF \
 && cmake --build build --target trawler -j"${JOBS}" \
 && cmake --install build --prefix /out --strip \
 && rm -rf build
# The runtime stage installs the packages that own the libraries the binary links, so a
# library added to the build later cannot be forgotten there.
RUN if ldd /out/bin/trawler | grep 'not found'; then exit 1; fi \
 && ldd /out/bin/trawler | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' \
    | while read -r lib; do dpkg -S "*/${lib##*/}" || exit 1; done \
    | cut -d: -f1 | sort -u > /out/runtime-packages \
 && echo "runtime packages: $(tr '\n' ' ' < /out/runtime-packages)"

FROM debian:bookworm
LABEL org.opencontainers.image.title="trawler" \
      org.opencontainers.image.description="Asynchronous web crawler: one-shot crawls and a JSON-over-HTTP control service"
COPY --from=build /out/runtime-packages /tmp/runtime-packages
# ca-certificates: TLS verification uses the system store. bash (in the base) runs the
# health check, so no HTTP client is installed.
RUN apt-get update \
 && xargs -a /tmp/runtime-packages \
      env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/runtime-packages \
 && groupadd --system --gid 10001 trawler \
 && useradd --system --uid 10001 --gid trawler --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin trawler \
 && mkdir -p /config /data \
 && chown trawler:trawler /data
COPY --from=build /out/bin/trawler /usr/local/bin/trawler
# Numeric, so that runtimes that refuse root (runAsNonRoot) can tell without /etc/passwd.
USER 10001:10001
ENV HOME=/data
# /config: service.yaml and crawl configs (read-only is fine). /data: each crawl's output
# and state; in service mode set api.data_dir: /data in the config.
WORKDIR /data
VOLUME ["/config", "/data"]
EXPOSE 8080
# GET /healthz through bash's /dev/tcp, so no curl is needed. It probes 127.0.0.1 on
# TRAWLER_HEALTH_PORT (8080 by default): set that variable when serving on another port.
# In a one-shot crawl container nothing listens, so the status there means nothing.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${TRAWLER_HEALTH_PORT:-8080} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && grep -Eq '\"status\" *: *\"ok\"' <&3"]
ENTRYPOINT ["trawler"]
CMD ["serve", "--config", "/config/service.yaml"]
