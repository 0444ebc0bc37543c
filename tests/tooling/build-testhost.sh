#!/usr/bin/env bash
# Builds the kinc test host image: Debian trixie with systemd as PID 1, Podman 5.4 with Quadlet,
# passt, linger and a user 'kinc' (uid 1000) with subordinate ids and password-less sudo. It stands in
# for a user's workstation. Built offline from Debian packages with debootstrap (no registry), and
# cached: the image is rebuilt only when this script, the init script or the package list changes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"

PACKAGES=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,podman,crun,runc,conmon,netavark,aardvark-dns,passt,slirp4netns,uidmap,catatonit,fuse-overlayfs,iproute2,iptables,nftables,procps,python3,python3-apt,sudo,acl,ca-certificates,curl,jq,kmod,iputils-ping
key=$(cat "$0" "$HERE/testhost/kinc-testhost-init" | sha256sum | cut -c1-12)
archive="$KINC_CACHE/testhost-$key.tar.zst"

if [ "$(podman image inspect --format '{{index .Labels "io.kinc.testhost-key"}}' "$KINC_TESTHOST_IMAGE" 2>/dev/null)" = "$key" ]; then
  log "test host image $KINC_TESTHOST_IMAGE is current ($key)"; exit 0
fi
if [ -f "$archive" ]; then
  log "loading the cached test host image $archive"
  zstd -dcq "$archive" | podman load -q >/dev/null
  exit 0
fi

root="$KINC_CACHE/testhost-rootfs"
rm -rf "$root"
log "debootstrap trixie into $root (about a minute)"
debootstrap --variant=minbase --include="$PACKAGES" trixie "$root" >"$KINC_CACHE/testhost-debootstrap.log" 2>&1 \
  || { tail -20 "$KINC_CACHE/testhost-debootstrap.log"; exit 1; }
install -m 755 "$HERE/testhost/kinc-testhost-init" "$root/usr/local/sbin/kinc-testhost-init"
echo kinc-host > "$root/etc/hostname"
# A workstation has a kernel modules directory, which kinc nodes mount read-only (as kind's do).
mkdir -p "$root/lib/modules"
chroot "$root" useradd -m -s /bin/bash -u 1000 kinc
chroot "$root" usermod --add-subuids 100000-165535 --add-subgids 100000-165535 kinc
echo 'kinc ALL=(ALL) NOPASSWD:ALL' > "$root/etc/sudoers.d/kinc"; chmod 440 "$root/etc/sudoers.d/kinc"
chroot "$root" systemctl mask systemd-firstboot.service console-getty.service getty@tty1.service \
  systemd-resolved.service systemd-modules-load.service >/dev/null 2>&1
# Nothing pulls network-online.target in a container, so podman-user-wait-network-online would wait 90 s.
chroot "$root" systemctl add-wants multi-user.target network-online.target >/dev/null 2>&1
# The host binds every cgroup controller to v1, so the test host's cgroup2 has none: Podman 5's default
# pids limit would make crun fail.
mkdir -p "$root/etc/containers/containers.conf.d"
printf '[containers]\npids_limit = 0\n' > "$root/etc/containers/containers.conf.d/50-kinc-testhost.conf"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
log "importing $KINC_TESTHOST_IMAGE"
tar -C "$root" --numeric-owner -cf - . | podman import -q \
  --change 'CMD=["/usr/local/sbin/kinc-testhost-init"]' --change 'STOPSIGNAL=SIGRTMIN+3' \
  --change 'ENV=container=podman' --change "LABEL=io.kinc.testhost-key=$key" - "$KINC_TESTHOST_IMAGE" >/dev/null
rm -rf "$root" "$KINC_CACHE"/testhost-*.tar.zst
podman save "$KINC_TESTHOST_IMAGE" | zstd -q -T0 > "$archive"
log "test host image ready ($(du -h "$archive" | cut -f1) compressed)"
