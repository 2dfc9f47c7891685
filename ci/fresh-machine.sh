#!/bin/bash
# Measure a target ('test' by default) as on a bare Debian 12 machine: a new
# bookworm root made with debootstrap from the system's own mirror, nothing
# of the project installed in it and every cache empty, a clone of this
# repository's HEAD, then 'make TARGET' timed from the first 'apt-get
# install make'. It copies in the host's apt sources and settings and its
# TLS trust store (with any local CA), so that the new root reaches the
# registries the way the host does. Usage: ci/fresh-machine.sh [TARGET]
# Needs root; takes the time of a first 'make test' (about 25 minutes).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

target=${1:-test}
[ "$(id -u)" = 0 ] || die "ci/fresh-machine.sh needs root (debootstrap, chroot, mounts)"
install_debian_packages debootstrap
root=${FRESH_ROOT:-$CACHE/fresh-root}
pristine="$CACHE/fresh-pristine"
mirror=$(mirror_uri)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*"

if [ ! -f "$pristine/.complete" ]; then
	note "debootstrap bookworm into $pristine (about a minute)"
	rm -rf "$pristine"
	debootstrap bookworm "$pristine" "$mirror" >"$OUT/debootstrap.log" 2>&1 ||
		die "debootstrap failed (log: $OUT/debootstrap.log)"
	touch "$pristine/.complete"
fi

umount_all() {
	local m
	for m in tmp dev/pts dev sys proc; do
		mountpoint -q "$root/$m" && umount "$root/$m"
	done
	return 0
}
umount_all
! grep -q " $root/" /proc/mounts || die "something is still mounted under $root; unmount it first"
rm -rf "$root"
cp -a "$pristine" "$root"
trap umount_all EXIT

# What a machine here has before anything is installed: apt sources and
# settings, a trust store, name resolution; no invoke-rc.d in a chroot.
rm -f "$root/etc/apt/sources.list"
cp -a /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/apt.conf.d "$root/etc/apt/" 2>/dev/null || true
mkdir -p "$root/usr/local/share/ca-certificates" "$root/etc/ssl/certs"
cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
for m in proc sys dev dev/pts; do
	mount --bind "/$m" "$root/$m"
done
mount -t tmpfs tmpfs "$root/tmp"

mkdir -p "$root/root/work"
git clone -q "$TOP" "$root/root/work/project"
note "running 'make $target' in a fresh bookworm root ($root); log: $OUT/fresh-$target.log"
ca=/etc/ssl/certs/ca-certificates.crt
# shellcheck disable=SC2016 # expands in the chroot
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	SSL_CERT_FILE=$ca SSL_CERT_DIR=/etc/ssl/certs CURL_CA_BUNDLE=$ca PIP_CERT=$ca \
	REQUESTS_CA_BUNDLE=$ca GIT_SSL_CAINFO=$ca FRESH_TARGET="$target" \
	/bin/bash -c 'start=$(date +%s)
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null && apt-get install -y -q make >/dev/null || exit 1
		cd /root/work/project && make "$FRESH_TARGET"
		rc=$?
		echo "fresh machine: make $FRESH_TARGET exited $rc after $(($(date +%s) - start)) s"
		exit $rc' 2>&1 | tee "$OUT/fresh-$target.log"
exit "${PIPESTATUS[0]}"
