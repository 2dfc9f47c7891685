#!/bin/bash
# Install everything the build, boot and tests need. Idempotent: a second
# run on a provisioned machine installs nothing and takes about a second.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

APT_PKGS=(
	# kernel build
	build-essential bc bison flex libelf-dev libssl-dev cpio kmod rsync
	xz-utils zstd python3 perl git ccache procps
	# boot and test
	qemu-system-x86 udev python3-venv busybox-static
	# selftests (clone3 and pidfd need libcap; exec needs a static libc)
	libcap-dev libc6-dev
	# the series' pidfd selftests must build with another C library too
	musl-tools
	# host checks and documentation
	shellcheck groff-base python3-ply python3-git
	# host checks of tools/ where rustup is absent
	cargo-web rust-web-clippy rustfmt-web
)

# One apt run for these and the kernel's Rust toolchain (rust-overlay/).
install_debian_packages "${APT_PKGS[@]}" "${RUST_OVERLAY_PKGS[@]}"

# On a bare machine three slow steps remain, and they want different things:
# bindgen-cli compiles on every core, the virtme-ng venv waits on the
# network, and the kernel source (download, unpack, base commit; only while
# there is no linux/ yet) runs on one core. They run side by side. A failed
# prefetch of the source is reported here and retried by 'make linux',
# which stops with the reason.
pids=()
if [ "$LINUX_MANAGED" = 1 ] && [ ! -d "$LINUX/.git" ]; then
	"$TOP/ci/linux-base.sh" >"$OUT/linux-base.log" 2>&1 &
	pids+=("$!:kernel source (log: $OUT/linux-base.log)")
fi
if ! "$CACHE/venv/bin/vng" --version 2>/dev/null | grep -q "$VIRTME_NG_VERSION"; then
	(
		note "installing virtme-ng $VIRTME_NG_VERSION into $CACHE/venv"
		python3 -m venv "$CACHE/venv" &&
			"$CACHE/venv/bin/pip" install -q "virtme-ng==$VIRTME_NG_VERSION"
	) >"$CACHE/venv-install.log" 2>&1 &
	pids+=("$!:virtme-ng (log: $CACHE/venv-install.log)")
fi

# The kernel Rust toolchain's packages are in place; this builds bindgen.
rc=0
"$TOP/rust-overlay/install.sh" || rc=$?

venv_rc=0
for p in "${pids[@]}"; do
	if ! wait "${p%%:*}"; then
		case "$p" in
		*virtme-ng*) venv_rc=1 ;;
		*) note "prefetching the kernel source failed; 'make linux' retries it: ${p#*:}" ;;
		esac
	fi
done
[ $rc = 0 ] || exit $rc
if [ $venv_rc != 0 ]; then
	tail -20 "$CACHE/venv-install.log" >&2
	die "pip install virtme-ng failed (log: $CACHE/venv-install.log)"
fi

"$TOP/rust-overlay/check.sh"
note "dependencies are in place"
