# Local stand-in for redis:7-alpine where no registry is reachable: Debian's
# redis-server, already in the debootstrap base (scripts/docker-ci-images), so this
# build needs no network. Flags match what the official image runs without a config
# file: listen on every interface of the container, protected mode off (the port is
# only published on 127.0.0.1), no persistence.
ARG BASE=aistack-base:bookworm
FROM ${BASE}
LABEL io.pytest-aistack.image=redis
USER redis
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
