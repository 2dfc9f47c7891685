#!/bin/bash
# Boot the built kernel under QEMU (TCG, never KVM) with virtme-ng, the host
# root shared read-only, and run a command in the guest. The serial console
# (kernel log, KUnit KTAP, the command's output) goes to $OUT/serial-NAME.log.
# Usage: ci/boot.sh FLAVOUR NAME TIMEOUT_S COMMAND...
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

flavour=$1 name=$2 limit=$3
shift 3
image="$BUILD-$flavour/arch/x86/boot/bzImage"
[ -f "$image" ] || die "no kernel at $image: run 'make build'"
log="$OUT/serial-$name.log"
mkdir -p "$OUT/guest"

# GUEST_NUMA=N: N NUMA nodes, the memory split evenly, CPU i on node i % N.
numa=()
if [ -n "${GUEST_NUMA:-}" ] && [ "$GUEST_NUMA" -gt 1 ]; then
	mem=${GUEST_MEM:-1G}
	case $mem in
	*G) mb=$((${mem%G} * 1024)) ;;
	*M) mb=${mem%M} ;;
	*) die "GUEST_MEM=$mem: give it in M or G for GUEST_NUMA" ;;
	esac
	for ((n = 0; n < GUEST_NUMA; n++)); do
		cpus=
		for ((c = n; c < ${GUEST_CPUS:-2}; c += GUEST_NUMA)); do
			cpus+=",cpus=$c"
		done
		numa+=(--numa "$((mb / GUEST_NUMA))M$cpus")
	done
	# One socket per node: CPUs that share a last-level cache on two nodes
	# make the kernel WARN (topology_sane()) at boot.
	QEMU_EXTRA="-smp ${GUEST_CPUS:-2},sockets=$GUEST_NUMA ${QEMU_EXTRA:-}"
fi

note "booting $image under TCG (limit ${limit}s${numa:+, $GUEST_NUMA NUMA nodes}, log: $log)"
start=$(date +%s)
set +e
# kunit output and any splat must reach the log; panic=-1 reboots (and so
# ends QEMU) instead of hanging on a panic.
timeout -k 15 "$limit" vng --run "$image" --disable-kvm --disable-microvm \
	--cpus "${GUEST_CPUS:-2}" --memory "${GUEST_MEM:-1G}" "${numa[@]}" --verbose \
	--rwdir "$OUT/guest" --append "panic=-1 oops=panic ${BOOT_APPEND:-}" \
	--qemu-opts="-no-reboot ${QEMU_EXTRA:-}" \
	--exec "$*" </dev/null >"$log" 2>&1
rc=$?
set -e
note "guest ran for $(($(date +%s) - start))s"
if [ $rc = 124 ] || [ $rc = 137 ]; then
	tail -30 "$log" >&2
	die "the guest did not finish within ${limit}s (serial log: $log); raise BOOT_TIMEOUT or look for a hang above"
fi
exit 0
