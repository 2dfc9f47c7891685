#!/bin/bash
# 'make test': host checks, the debug kernel build, one boot that runs KUnit
# and every kselftest, then one summary line over all of it.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

t0=$(date +%s)
extra=()

# 1. Host checks.
note "host checks: shellcheck, groff and coverage of the man pages, cargo fmt/clippy/test of tools/ (log: $OUT/host-checks.log)"
shellcheck -x "$TOP"/ci/*.sh "$TOP"/ci/guest/*.sh "$TOP"/rust-overlay/*.sh "$TOP/.ci/run" ||
	die "shellcheck found problems in the ci scripts (above)"
for man in "$TOP"/Documentation/man/*.[0-9]; do
	out=$(groff -man -ww -z "$man" 2>&1)
	[ -z "$out" ] || die "groff -man -ww -z: $man: $out"
done
# The cargo checks of tools/ run beside the tree and kernel build below: the
# kernel build leaves a core idle while it compiles its Rust crates one by
# one and links. Their output goes to $OUT/host-checks.log, shown on failure.
host_checks() {
	(cd "$TOP/tools" && cargo fmt --all -- --check) || die "tools/ is not rustfmt-clean: run 'cargo fmt' in tools/"
	(cd "$TOP/tools" && cargo clippy -q --all-targets -- -D warnings) || die "clippy warnings in tools/ (above)"
	(cd "$TOP/tools" && cargo clippy -q -p pidfd-embryo --features tokio --all-targets -- -D warnings) ||
		die "clippy warnings in pidfd-embryo's tokio feature (above)"
	(cd "$TOP/tools" && cargo build -q --release) || die "tools/ does not build"
	# cargo test builds a cdylib's rlib only: the preload test needs the .so
	# and the probe example built first (debug, next to the test binary).
	(cd "$TOP/tools" && cargo build -q -p pidfdspawn --lib --examples) ||
		die "cannot build libpidfdspawn and its probe"
	{
		(cd "$TOP/tools" && cargo test -q 2>&1)
		# The crate's tokio feature, off by default, with its own test.
		(cd "$TOP/tools" && cargo test -q -p pidfd-embryo --features tokio --test tokio 2>&1)
		(cd "$TOP/tools" && cargo test -q -p pidfd-embryo --features tokio --doc 2>&1)
	} >"$cargo_log" || true
	# The crate's integration tests run again in the guest, where they must
	# use the embryo syscalls (PIDFD_EMBRYO_REQUIRE=1) instead of the
	# fallback; libpidfdspawn's comparison with glibc, with the library
	# and its probe (built above); and spawnfuzz's campaigns, which are
	# ignored on a kernel without the syscalls and run in the guest.
	local t
	for t in "pidfd-embryo command" "pidfdspawn preload" "spawnfuzz campaign" "pidfd-embryo tokio"; do
		(cd "$TOP/tools" && cargo test -p "${t% *}" --features "$([ "${t#* }" = tokio ] && echo tokio)" \
			--test "${t#* }" --no-run 2>&1) |
			sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1
	done >"$OUT/host-checks.bins"
}
cargo_log="$OUT/cargo-test.log"
rm -f "$cargo_log" "$OUT/host-checks.bins"
host_checks >"$OUT/host-checks.log" 2>&1 &
host_pid=$!
ksft_pid=
# Whatever stops this script stops the jobs beside it too, with their
# children (cargo, make).
# shellcheck disable=SC2317 # called from the EXIT trap
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do kill_tree "$c"; done
	kill "$1" 2>/dev/null || true
}
trap 'for p in $host_pid $ksft_pid; do kill_tree "$p"; done' EXIT

# 2. The tree, the debug kernel and the selftests (these beside the kernel
# too, once the tree is ready).
"$TOP/ci/linux.sh"
"$TOP/ci/check-man.sh" "$LINUX" || die "the man pages miss names that the series' code has (above)"
"$TOP/ci/selftests-build.sh" >"$OUT/ksft.path" &
ksft_pid=$!
"$TOP/ci/build.sh" debug
# The same tree without Rust, so without CONFIG_PIDFD_SPAWN: it must build
# and link too (every kernel built without Rust is such a kernel).
"$TOP/ci/build.sh" nospawn
extra+=(--extra "nospawn-build=1,0,0")
# And the base config alone, with the option but without the debug
# options: code that builds only with AUDITSYSCALL, SECCOMP_FILTER or the
# like turned on fails here.
"$TOP/ci/build.sh" base
extra+=(--extra "base-build=1,0,0")
flavour=debug
[ "${KASAN:-}" = 1 ] && flavour=debug-kasan
wait $ksft_pid || die "the kselftest build failed (above)"
extra+=(--extra "musl-selftests-build=1,0,0")
ksft=$(cat "$OUT/ksft.path")
if ! wait $host_pid; then
	tail -40 "$OUT/host-checks.log"
	die "host checks of tools/ failed (log: $OUT/host-checks.log)"
fi
grep -E '^test result|FAILED|panicked' "$cargo_log" || true
read -r p f s < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) {
	if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
	END { print p + 0, f + 0, s + 0 }' "$cargo_log")
grep -q '^test result:' "$cargo_log" || f=$((f + 1))
extra+=(--extra "cargo=$p,$f,$s")
summary="$TOP/tools/target/release/ktap-summary"
{ read -r guest_tests && read -r preload_tests && read -r fuzz_tests && read -r tokio_tests; } <"$OUT/host-checks.bins" ||
	die "cannot build the pidfd-embryo, libpidfdspawn and spawnfuzz tests for the guest (log: $OUT/host-checks.log)"
guest_tests="$TOP/tools/$guest_tests"
preload_tests="$TOP/tools/$preload_tests"
fuzz_tests="$TOP/tools/$fuzz_tests"
tokio_tests="$TOP/tools/$tokio_tests"
t_build=$(date +%s)

# 3. One boot: KUnit at boot, then the selftests.
rm -rf "$OUT/guest"
mkdir -p "$OUT/guest"
{
	echo 'cd /tmp || exit 1'
	echo 'rc=0'
	for t in "$guest_tests" "$preload_tests" "$tokio_tests"; do
		printf 'PIDFD_EMBRYO_REQUIRE=1 %q --test-threads=1 || rc=1\n' "$t"
	done
	printf '%q --test-threads=1 --include-ignored || rc=1\n' "$fuzz_tests"
	# shellcheck disable=SC2016 # expands in the guest
	echo 'exit $rc'
} >"$OUT/guest/tools-tests.sh"
# Two NUMA nodes: the numa-node selftest needs a second one.
GUEST_INIT=direct GUEST_NUMA=2 BOOT_APPEND="slub_debug=FZPU" "$TOP/ci/boot.sh" "$flavour" test "${BOOT_TIMEOUT:-2400}" \
	"$TOP/ci/guest/run-tests.sh" "$OUT/guest" "$ksft" "$TOP/ci/baseline/timeouts.txt" \
	"$TOP/ci/baseline/durations.txt" "$OUT/guest/tools-tests.sh"
t_boot=$(date +%s)

# 4. Verdict.
status=0
"$TOP/ci/check-log.sh" "$OUT/serial-test.log" "$OUT/guest/kmemleak.txt" || status=1
# The crate's tests in the guest: libtest's summary line, or one failure if
# there is none.
read -r p f s < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) {
	if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
	END { print p + 0, f + 0, s + 0 }' "$OUT/guest/tools.log" 2>/dev/null)
if ! grep -q '^test result:' "$OUT/guest/tools.log" 2>/dev/null || [ "$(cat "$OUT/guest/tools.rc" 2>/dev/null)" != 0 ]; then
	echo "guest cargo tests failed (log: $OUT/guest/tools.log):"
	tail -30 "$OUT/guest/tools.log" 2>/dev/null
	[ "$f" -gt 0 ] || f=1
fi
extra+=(--extra "guest-cargo=$p,$f,$s")
args=(--kunit "$OUT/serial-test.log" --selftests "$OUT/guest/selftests"
	--known-fail "$TOP/ci/baseline/known-fail.txt" "${extra[@]}")
if [ "${RECORD_BASELINE:-}" = 1 ]; then
	args+=(--record "$TOP/ci/baseline/pass.txt")
else
	args+=(--baseline "$TOP/ci/baseline/pass.txt")
fi
echo
echo "Timing: build $((t_build - t0))s, guest $((t_boot - t_build))s, total $(($(date +%s) - t0))s"
"$summary" "${args[@]}" || status=1
if [ "${RECORD_BASELINE:-}" = 1 ]; then
	{
		echo "# Tests that pass on the unpatched base tree (recorded by 'make baseline'"
		echo "# on $(uname -m) with ci/config/base.config + debug.config). Each must"
		echo "# pass with the series applied too."
		cat "$TOP/ci/baseline/pass.txt"
	} >"$OUT/pass.txt.new" && mv "$OUT/pass.txt.new" "$TOP/ci/baseline/pass.txt"
fi
[ $status = 0 ] || echo "make test: FAILED (serial log: $OUT/serial-test.log, results: $OUT/guest/)"
exit $status
