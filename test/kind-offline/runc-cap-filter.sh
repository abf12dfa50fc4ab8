#!/bin/bash
# labgrader-runc: a pass-through wrapper around the real runc, registered as
# dockerd's default runtime by docker-up.sh.
#
# Why: kind always starts its node containers with `docker run --privileged`.
# Docker then puts *every* capability it knows into the OCI spec. On a host
# (or sandbox VM) whose capability bounding set lacks some of them (here:
# CAP_SYS_RESOURCE), runc fails with "unable to apply caps: operation not
# permitted", because a process can never gain a capability that is outside
# its bounding set.
#
# What: for `runc create|run` (bundle config.json, key process.capabilities)
# and `runc exec --process FILE` (key capabilities), remove only the
# capabilities that are NOT in this process's bounding set, then exec the
# real runc with the unchanged arguments.
#
# On a normal host every capability is in the bounding set, the list of
# capabilities to remove is empty, and the wrapper execs runc immediately
# without reading or touching any file: it changes nothing.
set -euo pipefail

REAL_RUNC=${LABGRADER_REAL_RUNC:-/usr/sbin/runc}
[ -x "$REAL_RUNC" ] || REAL_RUNC=/usr/bin/runc

# Capability names by number, as in linux/capability.h (0..40).
CAP_NAMES=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID
  SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW
  IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT
  SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
  AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM
  BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE)

# LABGRADER_RUNC_CAPBND (hex, as in /proc/self/status) exists only for
# test-runc-cap-filter.sh, to play a host with a different bounding set.
bnd_hex=${LABGRADER_RUNC_CAPBND:-$(awk '/^CapBnd:/ {print $2}' /proc/self/status)}
missing=()
if [ -n "$bnd_hex" ]; then
  bnd=$((16#$bnd_hex))
  for i in "${!CAP_NAMES[@]}"; do
    if (( (bnd >> i) & 1 )); then :; else missing+=("CAP_${CAP_NAMES[$i]}"); fi
  done
fi

# Normal host: nothing is missing from the bounding set -> pure pass-through.
if [ ${#missing[@]} -eq 0 ]; then
  exec "$REAL_RUNC" "$@"
fi

# Find the subcommand and the file that carries the capabilities.
cmd="" bundle="" process=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  a=${args[$i]}
  case "$a" in
    create|run|exec) [ -z "$cmd" ] && cmd=$a ;;
    --bundle|-b) bundle=${args[$((i + 1))]:-} ;;
    --bundle=*) bundle=${a#--bundle=} ;;
    --process|-p) process=${args[$((i + 1))]:-} ;;
    --process=*) process=${a#--process=} ;;
  esac
done

file="" filter=""
case "$cmd" in
  create|run)
    file="${bundle:-$PWD}/config.json"
    filter='if (.process.capabilities? // null) != null then .process.capabilities |= map_values(if type == "array" then map(select(IN($drop[]) | not)) else . end) else . end'
    ;;
  exec)
    if [ -n "$process" ]; then
      file=$process
      filter='if (.capabilities? // null) != null then .capabilities |= map_values(if type == "array" then map(select(IN($drop[]) | not)) else . end) else . end'
    fi
    ;;
esac

if [ -n "$file" ] && [ -f "$file" ]; then
  drop_json=$(printf '%s\n' "${missing[@]}" | /usr/bin/jq -R . | /usr/bin/jq -cs .)
  tmp="$file.labgrader-tmp.$$"
  if /usr/bin/jq --argjson drop "$drop_json" "$filter" "$file" >"$tmp"; then
    if cmp -s "$file" "$tmp"; then rm -f "$tmp"; else mv -f "$tmp" "$file"; fi
  else
    rm -f "$tmp"
  fi
fi

exec "$REAL_RUNC" "$@"
