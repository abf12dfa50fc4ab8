# labgrader CLI image (the worker image will extend it with kind, docker and kubectl).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig*.json ./
COPY packages ./packages
COPY apps ./apps
RUN npm ci && npm run build && npm prune --omit=dev

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
