# compresstest image: a Debian 12 build stage, then a runtime stage holding the static binary alone.

FROM debian:bookworm AS build
WORKDIR /src
# The build packages come from the same script CI uses, which reads each codec's package from
# its file in core/codec/; copying those alone first keeps that layer cached across other changes.
COPY scripts/install-deps scripts/install-deps
COPY core/codec core/codec
RUN COMPRESSTEST_DEPS=build scripts/install-deps && rm -rf /var/lib/apt/lists/*
COPY . .
# cmake --build runs the build tool's default number of jobs unless this is given
# (--build-arg CMAKE_BUILD_PARALLEL_LEVEL=N).
ARG CMAKE_BUILD_PARALLEL_LEVEL
# Static, as the Lambda package: glibc and every codec library are linked in, so the runtime
# stage needs no file but the binary. The build fails here if it still names a shared library.
RUN cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOMPRESSTEST_TESTS=OFF \
      -DCOMPRESSTEST_STATIC=ON \
 && cmake --build build/release \
 && strip --strip-unneeded -o /compresstest build/release/compresstest \
 && if readelf -d /compresstest | grep NEEDED; then exit 1; fi

# Nothing but the binary: no shell, no libraries, no package manager, no /etc/passwd (the user
# is numeric, and nothing in the server looks a user up).
FROM scratch
COPY --from=build /compresstest /usr/local/bin/compresstest
USER 10001:10001
EXPOSE 8080
# Exec form, so no shell runs it: the probe reads PORT and COMPRESSTEST_LISTEN as the server
# does and passes only on /healthz's 200 (503 in a stop's lame duck), within its 2 s timeout.
# A --listen given in CMD needs the same --listen here.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/compresstest", "probe"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/compresstest"]
CMD ["serve"]
