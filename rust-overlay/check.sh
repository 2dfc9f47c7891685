#!/bin/bash
# Check that the kernel Rust toolchain is present and new enough. Prints one
# line naming the fix for the first problem found and exits 1; silent on
# success.
# shellcheck source=../ci/common.sh
. "$(dirname "$0")/../ci/common.sh"

# vge A B: true if version A >= version B.
vge() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$2" ]
}

fail() {
	printf 'toolchain: %s\n' "$*" >&2
	exit 1
}

fix="run 'make deps' (or rust-overlay/install.sh)"

[ -x "$RUSTC_BIN" ] || fail "$RUSTC_BIN missing: $fix"
v=$("$RUSTC_BIN" --version | awk '{print $2}')
vge "$v" "$RUSTC_MIN" || fail "$RUSTC_BIN is $v, need >= $RUSTC_MIN: $fix"
sysroot=$("$RUSTC_BIN" --print sysroot)
[ -f "$sysroot/lib/rustlib/src/rust/library/core/src/lib.rs" ] ||
	fail "no Rust library source under $sysroot (package $RUST_SRC_PKG): $fix"
[ -x "$RUSTDOC_BIN" ] || fail "$RUSTDOC_BIN missing: $fix"
[ -x "$CLIPPY_DRIVER_BIN" ] || fail "$CLIPPY_DRIVER_BIN missing (package $CLIPPY_PKG): $fix"

for t in clang ld.lld llvm-ar llvm-nm llvm-objcopy; do
	command -v "$t$LLVM_SUFFIX" >/dev/null || fail "$t$LLVM_SUFFIX missing: $fix"
done
v=$("clang$LLVM_SUFFIX" -dumpversion)
vge "$v" "$LLVM_MIN" || fail "clang$LLVM_SUFFIX is $v, need LLVM >= $LLVM_MIN: $fix"

b="$CACHE/cargo/bin/bindgen"
[ -x "$b" ] || fail "bindgen missing at $b: $fix"
v=$("$b" --version | awk '{print $2}')
vge "$v" "$BINDGEN_MIN" || fail "bindgen is $v, need >= $BINDGEN_MIN: $fix"
ls /usr/lib/llvm"$LLVM_SUFFIX"/lib/libclang*.so* >/dev/null 2>&1 ||
	fail "libclang$LLVM_SUFFIX missing: $fix"
exit 0
