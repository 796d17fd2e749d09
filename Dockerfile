# compresstest image: a Debian 12 build stage, then a slim runtime stage with only the runtime libraries.

FROM debian:bookworm AS build
WORKDIR /src
# The build packages come from the same script CI uses, which reads each codec's package from
# its file in core/codec/; copying those alone first keeps that layer cached across other changes.
COPY scripts/install-deps scripts/install-deps
COPY core/codec core/codec
RUN COMPRESSTEST_DEPS=build scripts/install-deps && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOMPRESSTEST_TESTS=OFF \
 && cmake --build build/release \
 && strip --strip-unneeded -o /compresstest build/release/compresstest \
 && deploy/docker/runtime-packages /compresstest > /runtime-packages

FROM debian:bookworm-slim
# The packages of the shared libraries the binary loads, as the build stage found them with ldd
# and dpkg, and nothing else: no compiler, no -dev packages, no curl.
COPY --from=build /runtime-packages /tmp/runtime-packages
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/runtime-packages \
      apt-get install -y -q --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/runtime-packages \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --no-log-init compresstest
COPY --from=build /compresstest /usr/local/bin/compresstest
# Fail the image build, naming the library, if a library the binary needs is still missing.
RUN if ldd /usr/local/bin/compresstest | grep 'not found'; then exit 1; fi

USER 10001:10001
EXPOSE 8080
# bash and coreutils are in every Debian image, so the probe speaks HTTP over bash's /dev/tcp
# rather than adding curl and its dozen libraries; it passes only on a "200" status line from
# /healthz. It follows the PORT variable; a --listen given in CMD needs a matching override here.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-8080} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q '^HTTP/1\\.1 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["compresstest"]
CMD ["serve"]
