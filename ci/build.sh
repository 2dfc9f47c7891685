#!/bin/bash
# Configure (tinyconfig + fragments) and build the kernel out of tree.
# Usage: ci/build.sh [base|debug|bench|profile|nospawn]
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

flavour=${1:-base}
frags=("$TOP/ci/config/base.config")
[ "$flavour" = debug ] && frags+=("$TOP/ci/config/debug.config")
[ "$flavour" = bench ] && frags+=("$TOP/ci/config/bench.config")
[ "$flavour" = profile ] && frags+=("$TOP/ci/config/bench.config" "$TOP/ci/config/profile.config")
[ "$flavour" = nospawn ] && frags+=("$TOP/ci/config/nospawn.config")
if [ "$flavour" = debug ] && [ "${KASAN:-}" = 1 ]; then
	frags+=("$TOP/ci/config/kasan.config")
	flavour=debug-kasan
fi
[ -f "$LINUX/Makefile" ] || die "no kernel tree at $LINUX: run 'make linux'"
"$TOP/rust-overlay/check.sh"

BUILD="$BUILD-$flavour"
KMAKE_ARGS=("${KMAKE_ARGS[@]/#O=*/O=$BUILD}")
mkdir -p "$BUILD"

# Regenerate .config only when a fragment or one of the tree's Kconfig
# files changed (not on every commit: check-series builds 40-odd commits).
kconfig_hash=$(find "$LINUX/" -name 'Kconfig*' -not -path '*/tools/*' -type f -print0 | sort -z |
	xargs -0 cat | sha1sum | cut -c1-16)
stamp=$(cat "${frags[@]}" | sha1sum | cut -c1-16)-$kconfig_hash
if [ "$(cat "$BUILD/.config-stamp" 2>/dev/null)" != "$stamp" ]; then
	note "configuring $BUILD (tinyconfig + ${frags[*]##*/})"
	kmake tinyconfig >"$OUT/config.log" 2>&1 || { tail -20 "$OUT/config.log"; die "make tinyconfig failed"; }
	"$LINUX/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" "${frags[@]}" >>"$OUT/config.log" 2>&1
	kmake olddefconfig >>"$OUT/config.log" 2>&1 || { tail -20 "$OUT/config.log"; die "make olddefconfig failed"; }
	# Kconfig drops CONFIG_RUST without a word when scripts/rust_is_available.sh
	# fails (for example when TARGET in the environment, which bindgen reads
	# as its target triple, is set): say why before the check below fails.
	if [ "$(cat "${frags[@]}" | sed -n 's/^CONFIG_RUST=//p' | tail -1)" = y ] &&
		! grep -qx 'CONFIG_RUST=y' "$BUILD/.config"; then
		echo "config: CONFIG_RUST was dropped; 'make rustavailable' says:" >&2
		kmake -s rustavailable 2>&1 | tee -a "$OUT/config.log" >&2 || true
	fi
	# Every option a fragment asks for must have survived olddefconfig,
	# except those this tree does not define (the series adds some, and
	# check-series builds the patches before them).
	known=$(find "$LINUX/" -name 'Kconfig*' -not -path '*/tools/*' -print0 |
		xargs -0 sed -n 's/^[[:space:]]*\(menu\)\?config[[:space:]]\+\([A-Z0-9_]\+\).*/\2/p' | sort -u)
	# What the fragments ask for in the end: the last value of each option
	# (kasan.config turns off KFENCE, which debug.config turns on); options
	# under one that ends up off (CONFIG_KFENCE_SAMPLE_INTERVAL under
	# CONFIG_KFENCE) are not checked.
	requests=$(cat "${frags[@]}" | awk -F= '/^CONFIG_[A-Z0-9_]+=/ {
		if (!($1 in v)) order[++n] = $1; v[$1] = $0 }
		END { for (i = 1; i <= n; i++) print v[order[i]] }')
	off=$(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=n$/\1/p' <<<"$requests")
	bad=0
	while IFS= read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		opt=${line%%=*}
		val=${line#*=}
		grep -qx "${opt#CONFIG_}" <<<"$known" || continue
		under_off=0
		for o in $off; do
			case $opt in "${o}_"*) under_off=1 ;; esac
		done
		[ $under_off = 0 ] || continue
		if [ "$val" = n ]; then
			grep -q "^$opt=" "$BUILD/.config" && { echo "config: $opt is set, fragment says n" >&2; bad=1; }
		else
			grep -qx "$line" "$BUILD/.config" || { echo "config: $line did not stick (dependency missing?)" >&2; bad=1; }
		fi
	done <<<"$requests"
	[ $bad = 0 ] || die "the config fragments do not apply to this tree (see above; log: $OUT/config.log)"
	echo "$stamp" >"$BUILD/.config-stamp"
fi

note "building $flavour kernel in $BUILD (log: $OUT/build-$flavour.log)"
start=$(date +%s)
if ! kmake bzImage >"$OUT/build-$flavour.log" 2>&1; then
	grep -E 'error|Error' "$OUT/build-$flavour.log" | head -20 >&2
	die "kernel build failed (log: $OUT/build-$flavour.log)"
fi
note "built $BUILD/arch/x86/boot/bzImage in $(($(date +%s) - start)) s"
