#!/bin/bash
# 'make run': boot the patched kernel under TCG and show it working.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

(cd "$TOP/tools" && cargo build -q --release && cargo build -q --release --examples) ||
	die "tools/ does not build"
rm -rf "$OUT/guest"
mkdir -p "$OUT/guest"
GUEST_MEM=${GUEST_MEM:-2G} "$TOP/ci/boot.sh" debug run "${BOOT_TIMEOUT:-600}" "$TOP/ci/guest/demo.sh" "$OUT/guest"
log="$OUT/serial-run.log"
sed -n 's/^demo: //p' "$log"
echo
"$TOP/tools/target/release/ktap-summary" --kunit "$log" 2>/dev/null | tail -1 | sed 's/^/KUnit at boot: /' ||
	echo "KUnit at boot: see $log"
"$TOP/ci/check-log.sh" "$log" >/dev/null || echo "note: the serial log has kernel warnings: $log"
