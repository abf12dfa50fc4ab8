# One image for the labgrader CLI (the default entrypoint), the webhook API
# (apps/api/dist/main.js) and the grading worker (apps/worker/dist/main.js);
# docker-compose.yml picks the entrypoint per service. It ships pinned helm and
# kubectl, so Helm charts and kustomizations are rendered (and kubectl is the
# cluster stage's client); grading Lab 85's cluster criteria additionally needs
# kind and a Docker engine reachable from the worker.

# helm and kubectl, built from their Go modules at pinned versions: every module is
# checked against the Go checksum database (sum.golang.org), so no download URL or
# checksum has to be trusted separately. The same script builds them for CI
# (.ci/run, into ~/.cache/labgrader/bin); versions: .ci/build-go-tools.sh.
FROM golang:1.24-bookworm AS tools
COPY .ci/build-go-tools.sh /usr/local/bin/build-go-tools.sh
RUN build-go-tools.sh /out helm kubectl

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig*.json ./
COPY packages ./packages
COPY apps ./apps
# npm install, not npm ci: the lockfile cannot list other platforms' optional
# binaries (see README), which npm ci rejects; npm install follows the lockfile.
RUN npm install --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# git clones submissions; helm and kubectl render charts and kustomizations (found on PATH).
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=tools /out/helm /out/kubectl /usr/local/bin/
WORKDIR /opt/labgrader
COPY --from=build /src /opt/labgrader
COPY rubrics ./rubrics
COPY examples ./examples
USER node
ENTRYPOINT ["node", "/opt/labgrader/apps/cli/dist/main.js"]
CMD ["grade", "examples/lab-85-passing"]
