#!/bin/bash
# compose.real.sh: the whole service from the repository's own docker-compose.yml, for real,
# on this machine's Docker engine (issue 14):
#
#   1. builds the api/worker image with `compose build` (the repository's Dockerfile; on a
#      machine without a registry, from the bases test/compose/offline-images.sh made, through
#      test/compose/offline.override.yml);
#   2. `compose up -d`: Redis, PostgreSQL, the api, the dashboard and a worker with CLUSTER_STAGE=kind, and
#      waits for their healthchecks;
#   3. a bare git repository holding examples/lab-85-passing (served to the worker over
#      file://, CLONE_URL_ALLOW=file:///srv/repos/), and a push webhook for it signed with
#      GITHUB_WEBHOOK_SECRET, POSTed to the api's published port;
#   4. waits for the report in PostgreSQL and checks that every Lab 85 criterion is graded,
#      the cluster ones included (test/compose/check-report.mjs), and that no secret was logged;
#   5. `compose down -v`, then checks nothing is left: no container, volume or network of the
#      project, no kind cluster the run created.
#
# Prints `compose-real: N passed, N failed` last; exit 0 when all passed, 1 otherwise, and 77
# (NOT RUN, loudly) when the Docker engine, a compose binary or the offline images are missing.
# Run as root (Docker). ~5-15 min: the image build, then one kind cluster with its drills.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/bin:$PATH
# shellcheck source=../kind-offline/versions.sh
. "$REPO/test/kind-offline/versions.sh"

not_run() {
  cat >&2 <<BANNER

######################################################################
##  COMPOSE TEST NOT RUN (and not counted as passing)
##  $1
##  Set it up with: test/kind-offline/build.sh && test/kind-offline/ci-setup.sh
##                  test/compose/offline-images.sh
######################################################################

BANNER
  exit 77
}

docker info >/dev/null 2>&1 || not_run "no Docker engine answers (test/kind-offline/docker-up.sh starts it)"
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null; then
  COMPOSE=(docker-compose)
else
  not_run "no compose binary (docker compose plugin or Debian's docker-compose)"
fi
present=$("$HERE/offline-images.sh" --check 2>&1) || not_run "$present"

T0=$SECONDS
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok $*" >&2; }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; }
log() { printf '[compose-real %s] %s\n' "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------- the run's own names and secrets
RUN=lg14-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
WORK=$(mktemp -d "/tmp/$RUN.XXXX")
export COMPOSE_PROJECT_NAME=$RUN
export KIND_NETWORK=$RUN-kind
POSTGRES_PASSWORD=$(head -c18 /dev/urandom | od -An -tx1 | tr -d ' \n')
GITHUB_WEBHOOK_SECRET=$(head -c24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export POSTGRES_PASSWORD GITHUB_WEBHOOK_SECRET
DASHBOARD_SESSION_SECRET=$(head -c24 /dev/urandom | od -An -tx1 | tr -d ' \n')
LABGRADER_ADMIN_TOKEN=$(head -c18 /dev/urandom | od -An -tx1 | tr -d ' \n')
export DASHBOARD_SESSION_SECRET LABGRADER_ADMIN_TOKEN
export DASHBOARD_PUBLISH=127.0.0.1: # the dashboard, also on a free loopback port
DOCKER_GID=$(stat -c %g /var/run/docker.sock)
export DOCKER_GID
export API_PUBLISH=127.0.0.1:      # a free port on loopback ("127.0.0.1::3000")
export CLUSTER_STAGE=kind
export LABGRADER_KIND_NODE_IMAGE=$NODE_IMAGE_REPO:$K8S_VERSION
export CLONE_URL_ALLOW=file:///srv/repos/
export LABGRADER_TEST_REPOS=$WORK/repos
export LABGRADER_IMAGE=labgrader:$RUN
export LOG_LEVEL=info
# The offline bases (test/compose/offline-images.sh).
eval "$("$REPO/.ci/build-go-tools.sh" --print-versions)"
export LABGRADER_BASE_IMAGE=labgrader-offline/debian:bookworm-node
export LABGRADER_GO_IMAGE=labgrader-offline/go-tools:$(printf '%s %s %s' "$HELM_VERSION" "$KUBECTL_VERSION" "$KIND_VERSION" | sha256sum | cut -c1-12)
export LABGRADER_DOCKER_CLI_IMAGE=labgrader-offline/docker-cli:local
export LABGRADER_REDIS_IMAGE=labgrader-offline/redis:bookworm
export LABGRADER_POSTGRES_IMAGE=labgrader-offline/postgres:bookworm
# What is built and brought up: the committed tree (HEAD), exported with git archive, so that
# the test sees the repository's own files and not someone's edit in progress on a shared
# checkout; LABGRADER_COMPOSE_SOURCE=worktree uses the working tree instead (CI's clean
# checkout: the same files).
if [ "${LABGRADER_COMPOSE_SOURCE:-head}" = worktree ]; then
  SRC=$REPO
else
  SRC=$WORK/tree
  mkdir -p "$SRC"
  git -C "$REPO" archive --format=tar HEAD | tar -x -C "$SRC"
  log "testing HEAD $(git -C "$REPO" rev-parse --short HEAD) (git archive; LABGRADER_COMPOSE_SOURCE=worktree for the working tree)"
fi
compose() { "${COMPOSE[@]}" --project-directory "$SRC" -f "$SRC/docker-compose.yml" -f "$SRC/test/compose/offline.override.yml" "$@"; }

# The run's kind clusters: those whose nodes are on the run's own kind network (other tests on
# this engine create clusters of their own, which are not this test's to judge).
: >"$WORK/kind-ours"
note_kind_clusters() {
  docker ps -a --filter "network=$KIND_NETWORK" --filter label=io.x-k8s.kind.cluster \
    --format '{{.Label "io.x-k8s.kind.cluster"}}' 2>/dev/null >>"$WORK/kind-ours"
  sort -u -o "$WORK/kind-ours" "$WORK/kind-ours"
}

# ---------------------------------------------------------------- teardown, always
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
    log "diagnostics"
    compose ps >&2 2>&1 || true
    compose logs --no-color --tail=60 worker api >&2 2>&1 || true
  fi
  note_kind_clusters
  log "compose down -v"
  local t0=$SECONDS
  compose down -v --remove-orphans --timeout 60 >"$WORK/down.log" 2>&1 || { cat "$WORK/down.log" >&2; fail "compose down -v exited non-zero"; }
  local left
  left=$(docker ps -aq --filter "label=com.docker.compose.project=$RUN")
  [ -z "$left" ] && ok "no container of the project is left" || fail "containers left: $left"
  left=$(docker volume ls -q --filter "label=com.docker.compose.project=$RUN")
  [ -z "$left" ] && ok "no volume of the project is left" || fail "volumes left: $left"
  left=$(docker network ls -q --filter "label=com.docker.compose.project=$RUN"; docker network ls -q --filter "name=^$KIND_NETWORK\$")
  [ -z "$left" ] && ok "no network of the project is left (the kind network $KIND_NETWORK included)" || fail "networks left: $left"
  left=""
  while read -r c; do
    [ -n "$c" ] && [ -n "$(docker ps -aq --filter "label=io.x-k8s.kind.cluster=$c")" ] && left+="$c "
  done <"$WORK/kind-ours"
  [ -z "$left" ] && ok "no kind cluster of the run is left ($(wc -l <"$WORK/kind-ours") created: $(tr '\n' ' ' <"$WORK/kind-ours"))" \
    || fail "kind clusters left: $left"
  docker image rm "$LABGRADER_IMAGE" >/dev/null 2>&1 || true
  log "teardown $((SECONDS - t0)) s; whole run $((SECONDS - T0)) s"
  rm -rf "$WORK"
  echo "compose-real: $passed passed, $failed failed"
  [ "$failed" = 0 ] && [ "$passed" -gt 0 ] && exit 0
  exit 1
}
trap teardown EXIT
trap 'fail "interrupted"; exit 1' INT TERM

# ---------------------------------------------------------------- 1. build
log "compose build (${COMPOSE[*]}; project $RUN)"
t=$SECONDS
if compose build worker >"$WORK/build.log" 2>&1; then
  ok "compose build worker ($((SECONDS - t)) s)"
else
  tail -30 "$WORK/build.log" >&2
  fail "compose build worker"
  exit 1
fi

# ---------------------------------------------------------------- 2. up
log "compose up -d"
t=$SECONDS
compose up -d >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; fail "compose up -d"; exit 1; }
declare -A ID
for s in redis postgres api worker dashboard; do ID[$s]=$(compose ps -q "$s"); done
healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "${ID[$1]}" 2>/dev/null)" = healthy ]; }
while [ $((SECONDS - t)) -lt 180 ]; do
  healthy api && healthy worker && healthy dashboard && break
  sleep 3
done
for s in redis postgres api worker dashboard; do
  healthy "$s" && ok "$s healthy" || fail "$s not healthy after $((SECONDS - t)) s"
done
[ "$failed" = 0 ] || exit 1
log "stack healthy in $((SECONDS - t)) s"
worker=${ID[worker]}
limit=$(docker inspect -f '{{.HostConfig.Memory}}' "$worker")
[ "$limit" = $((2 * 1024 * 1024 * 1024)) ] && ok "the worker's memory limit applies (2 GiB)" || fail "worker memory limit is $limit"
logopt=$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}}' "$worker")
[ "$logopt" = "json-file 10m" ] && ok "the worker's logs rotate ($logopt)" || fail "worker logging is '$logopt'"
docker network inspect "$KIND_NETWORK" -f '{{range .Containers}}{{.Name}} {{end}}' | grep -q "$RUN" &&
  ok "the worker is on the kind network $KIND_NETWORK" || fail "the worker is not on $KIND_NETWORK"
port=$(compose port api 3000 | sed 's/.*://')
case $(compose port api 3000) in 127.0.0.1:*) ok "the api is published on loopback only (port $port)" ;; *) fail "api published as $(compose port api 3000)" ;; esac

# ---------------------------------------------------------------- 3. a student's repository and its push
FULL=course-org/lab85-alice
mkdir -p "$WORK/repos/course-org" "$WORK/src"
cp -a "$SRC/examples/lab-85-passing/." "$WORK/src/"
git -C "$WORK/src" init -q -b main
git -C "$WORK/src" -c user.name=alice -c user.email=alice@example.edu add -A
git -C "$WORK/src" -c user.name=alice -c user.email=alice@example.edu commit -qm "Lab 85"
git clone -q --bare "$WORK/src" "$WORK/repos/$FULL.git"
SHA=$(git -C "$WORK/src" rev-parse HEAD)
# The worker runs as uid 1000; git refuses repositories another user owns.
chown -R 1000:1000 "$WORK/repos"
chmod 0755 "$WORK"
answer=$(node "$HERE/deliver-push.mjs" "http://127.0.0.1:$port" "$FULL" "file:///srv/repos/$FULL.git" "$SHA")
if [ $? = 0 ] && [[ "$answer" == *'"status":"queued"'* ]]; then ok "signed push webhook accepted: $answer"; else fail "webhook answer: $answer"; exit 1; fi
bad=$(GITHUB_WEBHOOK_SECRET=wrong-secret-of-the-right-length node "$HERE/deliver-push.mjs" "http://127.0.0.1:$port" "$FULL" "file:///srv/repos/$FULL.git" "$SHA")
[[ "$bad" != *queued* ]] && ok "a webhook signed with another secret is refused" || fail "badly signed webhook: $bad"

# ---------------------------------------------------------------- 4. the stored report
psql() { compose exec -T postgres psql -U labgrader -d labgrader -tAc "$1"; }
log "waiting for the report of $FULL@${SHA:0:12} (the cluster stage: a kind cluster and its drills)"
t=$SECONDS
row=""
while [ $((SECONDS - t)) -lt 1500 ]; do
  row=$(psql "select row_to_json(r) from (select status, not_gradable_reason, points, max_points, percent, report from labgrader.reports where commit_sha = '$SHA') r" 2>/dev/null | head -1)
  [ -n "$row" ] && break
  note_kind_clusters
  sleep 10
done
if [ -z "$row" ]; then
  fail "no report stored after $((SECONDS - t)) s"
  exit 1
fi
ok "report stored $((SECONDS - t)) s after the webhook"
[ -s "$WORK/kind-ours" ] && ok "the job's kind cluster ran on the run's network: $(tr '\n' ' ' <"$WORK/kind-ours")" \
  || fail "no kind cluster was seen on $KIND_NETWORK during the job"
if printf '%s' "$row" | node "$HERE/check-report.mjs" "$SRC/rubrics/lab-85.yaml" >"$WORK/check.out" 2>&1; then
  ok "every Lab 85 criterion graded, cluster ones included"
else
  fail "report check"
fi
sed 's/^/    /' "$WORK/check.out" >&2

# ---------------------------------------------------------------- 5. the dashboard shows it
dport=$(compose port dashboard 3002 | sed 's/.*://')
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$dport/api/v1/labs")
[ "$code" = 401 ] && ok "the dashboard's API refuses a request without credentials (401)" || fail "the dashboard answered $code without credentials"
if curl -sf -H "Authorization: Bearer $LABGRADER_ADMIN_TOKEN" "http://127.0.0.1:$dport/api/v1/labs" >"$WORK/labs.json" &&
  node -e 'const b=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const s=JSON.stringify(b); process.exit(s.includes("lab-85") ? 0 : 1)' "$WORK/labs.json"; then
  ok "the dashboard lists the graded lab to an instructor ($(head -c 200 "$WORK/labs.json"))"
else
  fail "the dashboard's /api/v1/labs: $(head -c 300 "$WORK/labs.json" 2>/dev/null)"
fi

compose logs --no-color >"$WORK/all.log" 2>&1
if grep -qF -e "$POSTGRES_PASSWORD" -e "$GITHUB_WEBHOOK_SECRET" -e "$LABGRADER_ADMIN_TOKEN" -e "$DASHBOARD_SESSION_SECRET" "$WORK/all.log"; then
  fail "a secret appears in the services' logs"
else
  ok "no secret in the services' logs ($(wc -l <"$WORK/all.log") lines)"
fi
exit 0
