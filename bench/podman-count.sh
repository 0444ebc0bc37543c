#!/bin/sh
# Installed as /usr/local/bin/podman in the benchmark's test host (ahead of /usr/bin in PATH): logs every
# podman invocation (uid and arguments) so the benchmark can count them, then runs the real podman.
printf '%s %s\n' "$(id -u)" "$*" >> /var/tmp/kinc-bench/podman-calls.log
exec /usr/bin/podman "$@"
