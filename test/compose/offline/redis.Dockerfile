# Offline stand-in for redis:7-bookworm: Debian's redis-server (test/compose/offline-images.sh),
# with the official image's entrypoint behaviour (protected mode off: the network is the boundary).
FROM labgrader-offline/services:bookworm
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN mkdir -p /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["redis-server"]
