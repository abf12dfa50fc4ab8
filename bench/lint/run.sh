#!/usr/bin/env bash
# Lint benchmark: builds the packages it needs and the peer linters that are
# missing (bench/peers.sh: kube-score and Trivy, from their Go modules, into
# ~/.cache/labgrader/bin; a peer that cannot be built is reported and left
# out), generates the corpus under bench/results/ (not committed) and
# compares labgrader with them on one core.
#
#   bench/lint/run.sh [--runs 3] [--slow-runs 1] [--docs 10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
bench/peers.sh || true
npx tsc -b packages/core packages/repo packages/manifest-lint packages/builtin
exec node bench/lint/run.mjs "$@"
