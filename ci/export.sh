#!/bin/bash
# 'make export': write the commits base..HEAD of linux/ to patches/ with
# git format-patch, plus patches/series and the cover letter. Deterministic:
# exporting an unchanged tree changes nothing in patches/.
#
# The cover letter's subject and text are kept from the previous
# patches/0000-cover-letter.patch (or Documentation/cover-letter.txt when
# there is none); its shortlog and diffstat are regenerated.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=series.sh
. "$TOP/ci/series.sh"

[ -d "$LINUX/.git" ] || [ -f "$LINUX/.git" ] || die "no git tree at $LINUX: run 'make linux'"
[ -z "$(lgit status --porcelain --untracked-files=no)" ] ||
	die "linux/ has uncommitted changes: commit them first"
n=$(lgit rev-list --count base..HEAD)
PREFIX=${SUBJECT_PREFIX:-RFC PATCH v4}

# The cover letter text: "Subject line\n\nbody" from the old cover letter.
cover_src=$(mktemp)
old="$TOP/patches/0000-cover-letter.patch"
if [ -f "$old" ]; then
	# Subject (possibly folded), then everything after the header up to the
	# shortlog ("Name (N):").
	awk '
		/^Subject: / { s = $0; sub(/^Subject: \[[^]]*\] */, "", s); insub = 1; next }
		insub && /^ / { s = s $0; next }
		insub { insub = 0 }
		!body && /^$/ && s != "" { body = 1; print s; print ""; next }
		body && /^[^ ].* \([0-9]+\):$/ { exit }
		body { print }
	' "$old" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$cover_src"
else
	cp "$TOP/Documentation/cover-letter.txt" "$cover_src"
fi

tmp=$(mktemp -d)
if [ "$n" -gt 0 ]; then
	lgit format-patch -q --zero-commit --no-signature --base=base \
		--subject-prefix="$PREFIX" --cover-letter -o "$tmp" base..HEAD >/dev/null
	# Fill the cover letter: subject and blurb from $cover_src.
	subject=$(head -1 "$cover_src")
	python3 - "$tmp/0000-cover-letter.patch" "$cover_src" "$subject" <<'PY'
import sys
path, src, subject = sys.argv[1:]
text = open(path).read()
body = open(src).read().split("\n", 1)[1].strip("\n") if "\n" in open(src).read() else ""
text = text.replace("*** SUBJECT HERE ***", subject, 1)
text = text.replace("*** BLURB HERE ***", body, 1)
open(path, "w").write(text)
PY
	# format-patch stamps the cover letter with the current time; use the
	# newest commit's author date so re-exporting changes nothing.
	date=$(lgit log -1 --format=%aD HEAD)
	sed -i "0,/^Date: .*/s//Date: $date/" "$tmp/0000-cover-letter.patch"
fi

rm -f "$TOP"/patches/[0-9]*.patch "$TOP/patches/series"
mkdir -p "$TOP/patches"
: >"$TOP/patches/series"
for f in "$tmp"/*.patch; do
	[ -e "$f" ] || continue
	b=${f##*/}
	mv "$f" "$TOP/patches/$b"
	[ "$b" = 0000-cover-letter.patch ] || echo "$b" >>"$TOP/patches/series"
done
rm -rf "$tmp" "$cover_src"
lgit update-ref refs/embryo/applied HEAD
note "exported $n patches to patches/ (commit them in the project repo)"
