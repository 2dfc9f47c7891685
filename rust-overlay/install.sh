#!/bin/bash
# Install the pinned toolchain for the kernel's Rust code: Debian's rustc-web
# with its library source, LLVM/clang/lld/libclang, and bindgen-cli built
# from crates.io into the cache. Idempotent.
# shellcheck source=../ci/common.sh
. "$(dirname "$0")/../ci/common.sh"

install_debian_packages "$RUSTC_PKG" "$RUST_SRC_PKG" "$CLIPPY_PKG" cargo-web \
	"clang$LLVM_SUFFIX" "lld$LLVM_SUFFIX" "llvm$LLVM_SUFFIX" "libclang$LLVM_SUFFIX-dev"

if ! "$CACHE/cargo/bin/bindgen" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	note "installing bindgen-cli $BINDGEN_VERSION into $CACHE/cargo (about 2 minutes)"
	CARGO_HOME="$CACHE/cargo-home" LIBCLANG_PATH="/usr/lib/llvm$LLVM_SUFFIX/lib" \
		cargo install --locked --version "$BINDGEN_VERSION" --root "$CACHE/cargo" \
		bindgen-cli >"$CACHE/bindgen-install.log" 2>&1 || {
		tail -20 "$CACHE/bindgen-install.log" >&2
		die "cargo install bindgen-cli $BINDGEN_VERSION failed (log: $CACHE/bindgen-install.log)"
	}
fi
