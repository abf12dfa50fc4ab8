# One image for the labgrader CLI (the default entrypoint), the webhook API
# (apps/api/dist/main.js) and the grading worker (apps/worker/dist/main.js);
# docker-compose.yml picks the entrypoint per service. It ships pinned helm,
# kubectl and kind and a Docker client: Helm charts and kustomizations are
# rendered, and the worker runs the cluster stage on ephemeral kind clusters
# of the Docker engine it is given (docker-compose.yml: the host's, see
# docs/security.md).
#
# The bases are build arguments so that a machine without a registry can build
# the same file from images it made itself (test/compose/offline-images.sh);
# with internet the defaults below are used:
#   BASE_IMAGE        Node.js 20 on Debian bookworm (build and runtime stages)
#   GO_IMAGE          Go, to build helm, kubectl and kind
#   DOCKER_CLI_IMAGE  an image with a static docker client in /usr/local/bin/docker
ARG BASE_IMAGE=node:20-bookworm-slim
ARG GO_IMAGE=golang:1.24-bookworm
ARG DOCKER_CLI_IMAGE=docker:27.5.1-cli

# helm, kubectl and kind, built from their Go modules at pinned versions: every module is
# checked against the Go checksum database (sum.golang.org), so no download URL or
# checksum has to be trusted separately. The same script builds them for CI
# (.ci/run, into ~/.cache/labgrader/bin); versions: .ci/build-go-tools.sh (a tool already
# in /out at its pinned version is not built again).
FROM ${GO_IMAGE} AS tools
COPY .ci/build-go-tools.sh /usr/local/bin/build-go-tools.sh
RUN build-go-tools.sh /out helm kubectl kind

FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig*.json ./
COPY packages ./packages
COPY apps ./apps
# npm install, not npm ci: the lockfile cannot list other platforms' optional
# binaries (see README), which npm ci rejects; npm install follows the lockfile.
RUN npm install --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM ${BASE_IMAGE}
# git clones submissions (a base that already has it and the CA certificates needs no apt).
RUN if ! command -v git >/dev/null || [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi
# helm and kubectl render charts and kustomizations (found on PATH); kind, kubectl and
# docker run the cluster stage.
COPY --from=tools /out/helm /out/kubectl /usr/local/bin/
COPY --from=tools /out/kind /usr/local/bin/
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/
WORKDIR /opt/labgrader
COPY --from=build /src /opt/labgrader
COPY rubrics ./rubrics
COPY examples ./examples
# The worker's workspaces (docker-compose.yml mounts a named volume here).
RUN mkdir -p /var/lib/labgrader/workspaces && chown node:node /var/lib/labgrader/workspaces
USER node
ENTRYPOINT ["node", "/opt/labgrader/apps/cli/dist/main.js"]
CMD ["grade", "examples/lab-85-passing"]
