#!/usr/bin/env bash
# Lint benchmark: builds the packages it needs, generates the corpus under
# bench/results/ (not committed) and compares labgrader with kube-linter and
# kube-score on one core. Install the other linters outside the repository:
#   GOBIN=~/.cache/labgrader/bin go install golang.stackrox.io/kube-linter/cmd/kube-linter@latest
#   GOBIN=~/.cache/labgrader/bin go install github.com/zegl/kube-score/cmd/kube-score@v1.20.0
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -b packages/core packages/repo packages/manifest-lint packages/builtin
exec node bench/lint/run.mjs "$@"
