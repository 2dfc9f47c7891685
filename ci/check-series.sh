#!/bin/bash
# 'make check-series': apply patches/ one at a time on a scratch worktree of
# linux/ at 'base', build each step (base config, CLIPPY=1 for the Rust),
# and run checkpatch --strict on each patch. Prints a table; exits 1 if a
# step does not apply or build, or checkpatch reports an error or warning.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=series.sh
. "$TOP/ci/series.sh"

[ -d "$LINUX/.git" ] || die "no kernel tree at $LINUX: run 'make linux'"
wt="$CACHE/check-series/tree"
mapfile -t files < <(series_files)
[ ${#files[@]} -gt 0 ] || { note "patches/ is empty: nothing to check"; exit 0; }

if [ -d "$wt/.git" ] || [ -f "$wt/.git" ]; then
	git -C "$wt" am --abort >/dev/null 2>&1 || true
	git -C "$wt" checkout -q --detach base
	git -C "$wt" reset -q --hard base
else
	git -C "$LINUX" worktree prune
	git -C "$LINUX" worktree add -q --detach "$wt" base
fi

LINUX_DIR=$wt KBUILD_OUTPUT_DIR="$CACHE/check-series/build" "$TOP/ci/build.sh" base >/dev/null 2>&1 ||
	die "the base tree itself does not build (log: $OUT/build-base.log)"

status=0
printf '\n%-4s %-64s %-7s %s\n' '#' 'patch' 'builds' 'checkpatch (errors/warnings/checks)'
for f in "${files[@]}"; do
	b=${f##*/}
	if ! git -C "$wt" am -q --3way "$f" >"$OUT/check-series-am.log" 2>&1; then
		git -C "$wt" am --abort >/dev/null 2>&1 || true
		printf '%-4s %-64s %-7s\n' "${b%%-*}" "${b#*-}" 'no-apply'
		status=1
		break
	fi
	if LINUX_DIR=$wt KBUILD_OUTPUT_DIR="$CACHE/check-series/build" CLIPPY=1 "$TOP/ci/build.sh" base >/dev/null 2>&1; then
		built=yes
	else
		built=NO
		status=1
		cp "$OUT/build-base.log" "$OUT/check-series-${b%%-*}.log"
	fi
	# checkpatch exits non-zero when it reports something, and grep -c when
	# it counts nothing: neither is a failure of this script.
	cp_out=$(cd "$wt" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --terse --no-summary "$f" 2>&1) || true
	e=$(printf '%s\n' "$cp_out" | grep -c ': ERROR:') || true
	w=$(printf '%s\n' "$cp_out" | grep -c ': WARNING:') || true
	c=$(printf '%s\n' "$cp_out" | grep -c ': CHECK:') || true
	[ $((e + w)) -gt 0 ] && status=1
	printf '%-4s %-64.64s %-7s %s/%s/%s\n' "${b%%-*}" "${b#*-}" "$built" "$e" "$w" "$c"
	[ $((e + w + c)) -gt 0 ] && printf '%s\n' "$cp_out" | sed 's/^/       /' | head -10
done
exit $status
