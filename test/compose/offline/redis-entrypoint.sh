#!/bin/sh
# As the official redis image's entrypoint does: without a configuration file, redis-server's
# protected mode refuses every client but loopback; in a container the network is the boundary.
set -e
if [ "${1:-}" = redis-server ]; then
  shift
  set -- redis-server --protected-mode no "$@"
fi
exec "$@"
