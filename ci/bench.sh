#!/bin/bash
# 'make bench': tools/spawnbench in the guest, on the bench kernel (the
# base config with distribution-like allocator and optimisation, see
# ci/config/bench.config; no debug options), in two boots of the same image: first under
# -icount shift=0,sleep=off, where the guest clock counts instructions and
# runs repeat to 0.1 %, then under plain TCG for wall time (noisy).
# Results: out/bench-icount.txt, out/bench-wall.txt; in the same boots,
# spawnbench again under LD_PRELOAD=libpidfdspawn.so (tiny parent), where
# the posix_spawn methods go through the library: out/bench-*-preload.txt;
# and the agent-style mix (spawnbench --mix: real tools, 16 in flight) from a
# tiny and a 1 GiB parent, pinned to CPU 0: out/bench-*-mix.txt (MIX_ROUNDS
# rounds, default 5; MIX_ARGS passes more options; BENCH_MIX=0 leaves it out).
# SPAWNBENCH_ARGS passes options to spawnbench (see its --help);
# BENCH_MODES=icount (or wall) runs one of the two boots; GUEST_CPUS and
# GUEST_MEM size the guest (default 2 CPUs, 3G).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

"$TOP/ci/linux.sh"
"$TOP/ci/build.sh" bench
(cd "$TOP/tools" && cargo build -q --release -p spawnbench -p pidfdspawn) ||
	die "tools/spawnbench or tools/pidfdspawn does not build"
bench="$TOP/tools/target/release/spawnbench"
lib="$TOP/tools/target/release/libpidfdspawn.so"
preload_methods=pidfd_start,pidfd_start+attrs,posix_spawn,posix_spawn+attrs

# shellcheck disable=SC2086 # a list of words
for mode in ${BENCH_MODES:-icount wall}; do
	extra=
	[ "$mode" = icount ] && extra="-icount shift=0,sleep=off"
	rm -f "$OUT/guest/bench-$mode.txt" "$OUT/guest/bench-$mode-preload.txt" "$OUT/guest/bench-$mode-mix.txt"
	files="$mode $mode-preload"
	mix=
	if [ "${BENCH_MIX:-1}" != 0 ]; then
		files="$files $mode-mix"
		# Pinned: under -icount the vCPUs share one clock, so with two a
		# task's CPU time would count the other vCPU's instructions too.
		mix="$bench --mix ${MIX_ROUNDS:-5} --parents tiny,1g --cpu 0 ${MIX_ARGS:-}"
		mix="$mix >$OUT/guest/bench-$mode-mix.txt 2>&1; echo rc=\$? >>$OUT/guest/bench-$mode-mix.txt;"
	fi
	GUEST_MEM=${GUEST_MEM:-3G} QEMU_EXTRA="$extra" "$TOP/ci/boot.sh" bench "bench-$mode" "${BOOT_TIMEOUT:-3600}" \
		"$bench ${SPAWNBENCH_ARGS:-} >$OUT/guest/bench-$mode.txt 2>&1; echo rc=\$? >>$OUT/guest/bench-$mode.txt;" \
		"LD_PRELOAD=$lib $bench --parents tiny --methods $preload_methods ${PRELOAD_ARGS:-}" \
		">$OUT/guest/bench-$mode-preload.txt 2>&1; echo rc=\$? >>$OUT/guest/bench-$mode-preload.txt;" \
		"$mix"
	for f in $files; do
		[ -s "$OUT/guest/bench-$f.txt" ] || die "spawnbench left no output (serial log: $OUT/serial-bench-$mode.log)"
		cp "$OUT/guest/bench-$f.txt" "$OUT/bench-$f.txt"
		echo "== $f (bench config; guest: ${GUEST_CPUS:-2} CPUs, ${GUEST_MEM:-3G})"
		cat "$OUT/bench-$f.txt"
		grep -qx 'rc=0' "$OUT/bench-$f.txt" || die "spawnbench failed in the guest ($f)"
	done
done
