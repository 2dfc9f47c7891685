# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this
# Common settings for the ci/ scripts. Sourced, never run.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../rust-overlay/versions.env
. "$TOP/rust-overlay/versions.env"

# Everything that outlives a clone lives here: the kernel source tarball,
# the build directory, ccache, bindgen and the virtme-ng venv.
CACHE=${PIDFD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pidfd-embryo}
OUT=${OUT:-$TOP/out}
mkdir -p "$CACHE" "$OUT"

export CCACHE_DIR="$CACHE/ccache"
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}
# Kernel headers embed __FILE__ paths; let ccache hit across clones.
export CCACHE_BASEDIR=/
export CCACHE_NOHASHDIR=true
# Depend mode: a miss compiles once, without the extra preprocessor run
# that ccache's default mode makes to hash the preprocessed source (a
# quarter of a cold kernel build: 99 s instead of 132 s for fs/). Hits in
# the same tree are as fast; a second tree (CI's) no longer hits through
# the preprocessed hash and compiles its own objects once.
export CCACHE_DEPEND=1

# bindgen and virtme-ng from the cache; cargo, rustfmt and clippy for tools/
# from rustup when the machine has it, else Debian's cargo-web/rustfmt-web.
export PATH="$CACHE/cargo/bin:$CACHE/venv/bin:$PATH"
if [ -d "$HOME/.cargo/bin" ]; then
	case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) PATH="$HOME/.cargo/bin:$PATH" ;; esac
fi

# The kernel tree. LINUX_DIR overrides it with a user's own tree.
if [ -n "${LINUX_DIR:-}" ]; then
	LINUX=$(cd "$LINUX_DIR" && pwd)
	LINUX_MANAGED=0
else
	LINUX="$TOP/linux"
	LINUX_MANAGED=1
fi

# The out-of-tree build directory, one per source tree. In CI the tree is
# the cached one whatever the clone's path, so its build stays warm too.
tree_key=$LINUX
if [ "$LINUX_MANAGED" = 1 ] && [ "${CI:-}" = true ]; then
	tree_key="$CACHE/ci/linux"
fi
tree_id=$(printf '%s' "$tree_key" | sha1sum | cut -c1-10)
BUILD=${KBUILD_OUTPUT_DIR:-$CACHE/build/$tree_id}

JOBS=${JOBS:-$(($(nproc) + 1))}

# The kernel's Rust must use Debian's rustc (rustup's has no library source).
KMAKE_ARGS=(LLVM="$LLVM_SUFFIX" RUSTC="$RUSTC_BIN" RUSTDOC="$RUSTDOC_BIN"
	BINDGEN="$CACHE/cargo/bin/bindgen" CC="ccache clang$LLVM_SUFFIX"
	HOSTCC="clang$LLVM_SUFFIX" O="$BUILD" -j"$JOBS")
# CLIPPY=1 lints the kernel's Rust with Debian's clippy, matching its rustc.
if [ "${CLIPPY:-}" = 1 ]; then
	KMAKE_ARGS+=(CLIPPY=1 CLIPPY_DRIVER="$CLIPPY_DRIVER_BIN")
fi

kmake() {
	make -C "$LINUX" "${KMAKE_ARGS[@]}" "$@"
}

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

note() {
	printf '==> %s\n' "$*" >&2
}

# The system's Debian mirror: the first URI of a Debian archive (not the
# security archive) in the apt sources, one-line or deb822 format.
mirror_uri() {
	{
		cat /etc/apt/sources.list 2>/dev/null
		cat /etc/apt/sources.list.d/*.list 2>/dev/null
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null
	} | sed -n -e 's/^URIs:[[:space:]]*//p' \
		-e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' |
		tr ' ' '\n' | grep -E '/debian/?$' | head -1
}

# install_debian_packages PKG...: apt-get install whatever is not installed.
install_debian_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	note "installing Debian packages: ${missing[*]}"
	[ "$(id -u)" = 0 ] || die "need root to install ${missing[*]} (run: sudo make deps)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >"$CACHE/apt-update.log" 2>&1 ||
		die "apt-get update failed (log: $CACHE/apt-update.log); check the network and /etc/apt/sources.list*"
	apt-get install -y -q --no-install-recommends "${missing[@]}" >"$CACHE/apt-install.log" 2>&1 || {
		tail -20 "$CACHE/apt-install.log" >&2
		die "apt-get install ${missing[*]} failed (log: $CACHE/apt-install.log)"
	}
}
