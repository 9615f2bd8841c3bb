# One protocol server's image: its binary, taken out of the workspace build image
# (services/Dockerfile's `build` stage, which `make images` tags protolab/build), on
# the distroless runtime. Nothing is compiled here and nothing is copied from the
# build context (services/, whose .dockerignore sends nothing), so each server image
# takes seconds, not another pass over the repository.
#
#   docker build -f services/Dockerfile --target build -t protolab/build .
#   docker build -f services/server.Dockerfile --build-arg SERVICE=rest -t protolab/rest services
#
# Written for the classic builder as much as for BuildKit. Build args:
#   BUILD_IMAGE    the workspace build: every binary staged under /out/<name>/
#   RUNTIME_IMAGE  glibc, CA certificates, nonroot 65532, no shell
#   SERVICE        the server: rest, graphql, grpc, sse, websocket, binary
ARG BUILD_IMAGE=protolab/build:latest
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# No RUN here: on an engine whose storage driver has no native diff (fuse-overlayfs,
# as on this machine) committing even an empty layer over the build image walks its
# whole tree, ~30 s. services/images.sh checks that SERVICE was built, from /out.
FROM ${BUILD_IMAGE} AS build

FROM ${RUNTIME_IMAGE}
ARG SERVICE
COPY --from=build /out/${SERVICE}/ /
# Mount point of the dataset volume, owned by nonroot so a fresh volume is too.
COPY --from=build --chown=65532:65532 /out/data/ /data/
LABEL org.opencontainers.image.title="protolab-${SERVICE}" \
      org.opencontainers.image.description="protolab ${SERVICE} server"
USER 65532:65532
ENV DB_PATH=/data/items.db
# Exec form has no variables: /usr/local/bin/server links to protolab-${SERVICE}.
# compose.yaml checks every 30 s instead (it says why); 5 s suits a server run alone.
ENTRYPOINT ["/usr/local/bin/server"]
HEALTHCHECK --interval=5s --timeout=4s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/server", "healthcheck"]
