#!/bin/bash
# 'make bench': tools/spawnbench in the guest, on the base (non-debug)
# kernel, in two boots of the same image: first under
# -icount shift=0,sleep=off, where the guest clock counts instructions and
# runs repeat to 0.1 %, then under plain TCG for wall time (noisy).
# Results: out/bench-icount.txt, out/bench-wall.txt.
# SPAWNBENCH_ARGS passes options to spawnbench (see its --help);
# BENCH_MODES=icount (or wall) runs one of the two boots; GUEST_CPUS and
# GUEST_MEM size the guest (default 2 CPUs, 3G).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

"$TOP/ci/linux.sh"
"$TOP/ci/build.sh" base
(cd "$TOP/tools" && cargo build -q --release -p spawnbench) || die "tools/spawnbench does not build"
bench="$TOP/tools/target/release/spawnbench"

# shellcheck disable=SC2086 # a list of words
for mode in ${BENCH_MODES:-icount wall}; do
	extra=
	[ "$mode" = icount ] && extra="-icount shift=0,sleep=off"
	rm -f "$OUT/guest/bench-$mode.txt"
	GUEST_MEM=${GUEST_MEM:-3G} QEMU_EXTRA="$extra" "$TOP/ci/boot.sh" base "bench-$mode" "${BOOT_TIMEOUT:-3600}" \
		"$bench ${SPAWNBENCH_ARGS:-} >$OUT/guest/bench-$mode.txt 2>&1; echo rc=\$? >>$OUT/guest/bench-$mode.txt"
	[ -s "$OUT/guest/bench-$mode.txt" ] || die "spawnbench left no output (serial log: $OUT/serial-bench-$mode.log)"
	cp "$OUT/guest/bench-$mode.txt" "$OUT/bench-$mode.txt"
	echo "== $mode (base config; guest: ${GUEST_CPUS:-2} CPUs, ${GUEST_MEM:-3G})"
	cat "$OUT/bench-$mode.txt"
	grep -qx 'rc=0' "$OUT/bench-$mode.txt" || die "spawnbench failed in the guest ($mode)"
done
