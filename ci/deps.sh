#!/bin/bash
# Install everything the build, boot and tests need. Idempotent: a second
# run on a provisioned machine installs nothing and takes about a second.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

APT_PKGS=(
	# kernel build
	build-essential bc bison flex libelf-dev libssl-dev cpio kmod rsync
	xz-utils zstd python3 perl git ccache
	# boot and test
	qemu-system-x86 udev python3-venv busybox-static
	# selftests (clone3 and pidfd need libcap; exec needs a static libc)
	libcap-dev libc6-dev
	# host checks and documentation
	shellcheck groff-base python3-ply python3-git
	# host checks of tools/ where rustup is absent
	cargo-web rust-web-clippy rustfmt-web
)

install_debian_packages "${APT_PKGS[@]}"

# The kernel Rust toolchain (rustc, library source, LLVM, bindgen).
"$TOP/rust-overlay/install.sh"

# virtme-ng, pinned, in a venv.
if ! "$CACHE/venv/bin/vng" --version 2>/dev/null | grep -q "$VIRTME_NG_VERSION"; then
	note "installing virtme-ng $VIRTME_NG_VERSION into $CACHE/venv"
	python3 -m venv "$CACHE/venv"
	"$CACHE/venv/bin/pip" install -q "virtme-ng==$VIRTME_NG_VERSION" >"$CACHE/venv-install.log" 2>&1 ||
		{ tail -20 "$CACHE/venv-install.log" >&2; die "pip install virtme-ng failed (log: $CACHE/venv-install.log)"; }
fi

"$TOP/rust-overlay/check.sh"
note "dependencies are in place"
