# Local stand-in for redis:7-alpine where no registry is reachable: Debian's
# redis-server, already in the debootstrap base (scripts/docker-ci-images), so this
# build needs no network. Flags match what the official image runs without a config
# file: no bind address (redis-server then listens on every interface of the
# container), protected mode off (the port is only published on 127.0.0.1), no
# persistence. The docker backend and compose.yaml pass their own command anyway.
ARG BASE=aistack-base:bookworm
FROM ${BASE}
LABEL io.pytest-aistack.image=redis
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
