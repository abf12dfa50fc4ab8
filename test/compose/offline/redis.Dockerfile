# Offline stand-in for redis:7-bookworm: Debian's redis-server (test/compose/offline-images.sh).
FROM labgrader-offline/services:bookworm
RUN mkdir -p /data
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
