# One image for the labgrader CLI (the default entrypoint), the webhook API
# (apps/api/dist/main.js) and the grading worker (apps/worker/dist/main.js);
# docker-compose.yml picks the entrypoint per service. Grading Lab 85's cluster
# criteria additionally needs kind, kubectl and a Docker engine in the worker's image.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig*.json ./
COPY packages ./packages
COPY apps ./apps
# npm install, not npm ci: the lockfile cannot list other platforms' optional
# binaries (see README), which npm ci rejects; npm install follows the lockfile.
RUN npm install --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# git clones submissions; kubectl (for kustomize overlays) is not in Debian's archive:
# mount or install it when your labs use kustomize.
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/labgrader
COPY --from=build /src /opt/labgrader
COPY rubrics ./rubrics
COPY examples ./examples
USER node
ENTRYPOINT ["node", "/opt/labgrader/apps/cli/dist/main.js"]
CMD ["grade", "examples/lab-85-passing"]
