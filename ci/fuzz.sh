#!/bin/bash
# 'make fuzz': longer spawnfuzz campaigns than make test runs, in the guest
# on the debug kernel (KASAN=1: the KASAN kernel). SEED (default 1),
# CAMPAIGNS (default 8), OPS per campaign (default 50000); MEDDLER=1 adds
# the second thread; NAMESPACES=1 runs each campaign in new user, pid, mount
# and time namespaces; NPROC=1 as an unprivileged user at its RLIMIT_NPROC
# (uid 54500 + the campaign's index; NPROC=UID for one uid); SECCOMP=1 adds
# sub-workers under seccomp filters. Then the same kernel-log and kmemleak
# checks as make test. Results: $OUT/fuzz.txt; serial log:
# $OUT/serial-fuzz.log.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

"$TOP/ci/linux.sh"
"$TOP/ci/build.sh" debug
flavour=debug
[ "${KASAN:-}" = 1 ] && flavour=debug-kasan
(cd "$TOP/tools" && cargo build -q --release -p spawnfuzz) || die "tools/spawnfuzz does not build"
fuzz="$TOP/tools/target/release/spawnfuzz"
args="--seed ${SEED:-1} --campaigns ${CAMPAIGNS:-8} --ops ${OPS:-50000}"
[ "${MEDDLER:-}" = 1 ] && args+=" --meddler"
[ "${NAMESPACES:-}" = 1 ] && args+=" --namespaces"
[ "${SECCOMP:-}" = 1 ] && args+=" --seccomp"
case "${NPROC:-}" in
"" | 0) ;;
1) args+=" --nproc" ;;
*[!0-9]*) die "NPROC must be 1 or a uid, not '$NPROC'" ;;
*) args+=" --nproc $NPROC" ;;
esac
rm -f "$OUT/guest/fuzz.txt" "$OUT/guest/kmemleak.txt"
mkdir -p "$OUT/guest"
# shellcheck disable=SC2016 # expands in the guest
GUEST_INIT=direct BOOT_APPEND="slub_debug=FZPU" "$TOP/ci/boot.sh" "$flavour" fuzz "${BOOT_TIMEOUT:-3600}" \
	"cd /tmp && $fuzz $args >$OUT/guest/fuzz.txt 2>&1; echo rc=\$? >>$OUT/guest/fuzz.txt;" \
	'mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug;' \
	'if [ -w /sys/kernel/debug/kmemleak ]; then echo scan >/sys/kernel/debug/kmemleak; sleep 6;' \
	"echo scan >/sys/kernel/debug/kmemleak; cat /sys/kernel/debug/kmemleak >$OUT/guest/kmemleak.txt; fi"
[ -s "$OUT/guest/fuzz.txt" ] || die "spawnfuzz left no output (serial log: $OUT/serial-fuzz.log)"
cp "$OUT/guest/fuzz.txt" "$OUT/fuzz.txt"
cat "$OUT/fuzz.txt"
status=0
# spawnfuzz exits 3 when a campaign was skipped (its namespaces or user could
# not be made) and none found a violation.
if grep -qx 'rc=3' "$OUT/fuzz.txt"; then
	echo "make fuzz: campaigns skipped (above)"
	status=1
elif ! grep -qx 'rc=0' "$OUT/fuzz.txt"; then
	echo "make fuzz: violations (above)"
	status=1
fi
"$TOP/ci/check-log.sh" "$OUT/serial-fuzz.log" "$OUT/guest/kmemleak.txt" || status=1
[ $status = 0 ] && echo "make fuzz: no violation, no kernel problem"
exit $status
