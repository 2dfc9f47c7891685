#!/bin/bash
# 'make bench-scaling': does a start's cost grow with the parent? spawnbench
# in the guest on the bench kernel, every start method, from parents swept
# over memory touched (256 MiB .. 4 GiB), sleeping threads (8 .. 512) and
# open descriptors (16 .. 100,000), each built in a process of its own, in
# one boot under -icount shift=0,sleep=off (out/scaling-icount.txt); then from parents whose other
# threads keep faulting pages on the second vCPU, in a boot under plain TCG
# (out/scaling-wall.txt): under -icount both vCPUs advance one clock, so
# the faulting threads' instructions would count in every start's time.
# The starts include pidfd_start+attrs, whose embryo copies the caller's
# table (inherit-fds, as libpidfdspawn's posix_spawn() does), beside glibc's
# posix_spawn of the same launch.
# Besides the starts, two controls from each parent: spin (user-space
# arithmetic, no system call) and pidfd-only (pidfd_open() and close()),
# which show how much of a wall-time change is the machine's, not a start's.
# SCALING_PARENTS, FAULTING_PARENTS, SCALING_METHODS and SCALING_BATCHES
# (default 31) change the sweep; GUEST_MEM sizes the guest (default 6G,
# room for the 4 GiB parent and what fork copies of it).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

"$TOP/ci/linux.sh"
"$TOP/ci/build.sh" bench
(cd "$TOP/tools" && cargo build -q --release -p spawnbench) ||
	die "tools/spawnbench does not build"
bench="$TOP/tools/target/release/spawnbench"
methods=${SCALING_METHODS:-pidfd_start,vfork+exec,vfork+pidfd,posix_spawn,fork+exec,pidfd_start+attrs,posix_spawn+attrs,spin,pidfd-only}
batches=${SCALING_BATCHES:-31}

run_mode() { # mode parents
	local extra=
	[ "$1" = icount ] && extra="-icount shift=0,sleep=off"
	rm -f "$OUT/guest/scaling-$1.txt"
	GUEST_MEM=${GUEST_MEM:-6G} QEMU_EXTRA="$extra" "$TOP/ci/boot.sh" bench "scaling-$1" "${BOOT_TIMEOUT:-3600}" \
		"$bench --parents $2 --methods $methods --batches $batches --cpu 0" \
		">$OUT/guest/scaling-$1.txt 2>&1; echo rc=\$? >>$OUT/guest/scaling-$1.txt"
	[ -s "$OUT/guest/scaling-$1.txt" ] || die "spawnbench left no output (serial log: $OUT/serial-scaling-$1.log)"
	cp "$OUT/guest/scaling-$1.txt" "$OUT/scaling-$1.txt"
	echo "== scaling-$1 (bench config; guest: ${GUEST_CPUS:-2} CPUs, ${GUEST_MEM:-6G})"
	cat "$OUT/scaling-$1.txt"
	grep -qx 'rc=0' "$OUT/scaling-$1.txt" || die "spawnbench failed in the guest (scaling-$1)"
}

run_mode icount "${SCALING_PARENTS:-tiny,mem:256m,mem:1g,mem:4g,threads:8,threads:64,threads:512,fds:16,fds:1000,fds:10000,fds:100000}"
run_mode wall "${FAULTING_PARENTS:-tiny,faulting:1,faulting:4}"
