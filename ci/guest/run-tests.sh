#!/bin/bash
# Runs inside the guest (started by ci/boot.sh through virtme-ng).
# Usage: run-tests.sh RESULTS_DIR KSELFTEST_DIR TIMEOUTS_FILE DURATIONS_FILE [TOOLS_TEST_SCRIPT]
#
# KUnit has already run during boot; its KTAP is on the console. This runs
# every kselftest in KSELFTEST_DIR/kselftest-list.txt with a timeout and
# keeps each one's output and exit code in RESULTS_DIR/selftests/, runs
# TOOLS_TEST_SCRIPT (output and exit code in RESULTS_DIR/tools.*) beside
# them, then asks kmemleak for a scan.
set -u
res=$1
ksft=$2
timeouts=$3
durations=$4
mkdir -p "$res/selftests"
uname -r >"$res/uname"
echo "guest: $(uname -r), $(nproc) CPUs"

# The host root is shared read-only; tests write next to themselves, so
# they run from a copy in /tmp. Files over 4 MiB (the load_address tests'
# padded binaries, 112 MB together) are symlinked instead: copying them
# over 9p took about 100 s of the guest's time. Every process started here
# costs about 0.3 s under TCG with the debug kernel, so this uses one tar
# for all the small files and no command per file or per test.
work=/tmp/kselftest
rm -rf "$work"
mkdir -p "$work"
(cd "$ksft" && find . \( -type d -o ! -size +4096k \) -print0 | tar --null --no-recursion -T - -cf -) |
	tar -C "$work" -xf -
while IFS= read -r -d '' f; do
	ln -s "$ksft/$f" "$work/$f"
done < <(cd "$ksft" && find . -type f -size +4096k -print0)

# Per-test timeout: TIMEOUTS_FILE for tests too slow under TCG, else the
# collection's settings file, at least 120 s under TCG. Both files, and the
# durations, are read once into arrays.
grep -E '^[A-Za-z0-9_-]+:[^ ]+$' "$work/kselftest-list.txt" >"$work/list"
declare -A timeout_of duration_of settings_of
while read -r name t _; do
	[ -n "$name" ] && [ "${name#\#}" = "$name" ] && [[ $t =~ ^[0-9]+$ ]] && timeout_of[$name]=$t
done <"$timeouts"
while read -r name d _; do
	[ -n "$name" ] && [ "${name#\#}" = "$name" ] && [[ $d =~ ^[0-9]+$ ]] && duration_of[$name]=$d
done <"$durations"
for settings in "$work"/*/settings; do
	[ -f "$settings" ] || continue
	while IFS='=' read -r k v; do
		if [ "$k" = timeout ]; then
			d=${settings%/settings}
			settings_of[${d##*/}]=$v
		fi
	done <"$settings"
done
run_one() {
	local coll=$1 test=$2 t stem start rc
	t=${timeout_of[$coll/$test]:-}
	if [ -z "$t" ]; then
		t=${settings_of[$coll]:-45}
		[ "$t" -lt 120 ] && t=120
	fi
	stem="${coll}__${test}"
	start=$SECONDS
	(cd "$work/$coll" && timeout -k 10 "$t" "./$test") >"$res/selftests/$stem.tap" 2>&1 </dev/null
	rc=$?
	echo $rc >"$res/selftests/$stem.rc"
	echo "guest: $coll/$test rc=$rc $((SECONDS - start))s"
}

# The userspace tests (TOOLS_TEST_SCRIPT) are one more job for the lanes.
run_tools() {
	local start=$SECONDS rc
	bash "$1" >"$res/tools.log" 2>&1 </dev/null
	rc=$?
	echo $rc >"$res/tools.rc"
	echo "guest: tools tests rc=$rc $((SECONDS - start))s"
}

# Two lanes, one per CPU, balanced with the durations of the last
# measured run (DURATIONS_FILE; 3 s for a test not in it): each test, the
# longest first, goes to the lane with less work so far.
{
	while IFS=: read -r coll test; do
		echo "${duration_of[$coll/$test]:-3} $coll:$test"
	done <"$work/list"
	if [ -n "${5:-}" ]; then
		echo "${duration_of[tools/tests]:-60} @tools:tests"
	fi
} | sort -k1,1nr >"$work/by-duration"
a=0 b=0
while read -r d name; do
	if [ "$a" -le "$b" ]; then
		echo "$name" >>"$work/lane-a"
		a=$((a + d))
	else
		echo "$name" >>"$work/lane-b"
		b=$((b + d))
	fi
done <"$work/by-duration"
for lane in a b; do
	[ -f "$work/lane-$lane" ] || continue
	while IFS=: read -r coll test; do
		if [ "$coll" = @tools ]; then
			run_tools "$5"
		else
			run_one "$coll" "$test"
		fi
	done <"$work/lane-$lane" &
done
wait

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null

# Leak check: two scans (kmemleak reports an object only once it has been
# seen unreferenced twice), then report.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$res/kmemleak.txt"
	if [ -s "$res/kmemleak.txt" ]; then
		echo "kmemleak: $(grep -c '^unreferenced object' "$res/kmemleak.txt") unreferenced objects"
		head -60 "$res/kmemleak.txt"
	fi
fi
echo "guest: done"
