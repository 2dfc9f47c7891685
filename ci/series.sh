# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this
# Helpers shared by ci/linux.sh and ci/export.sh. Sourced, never run.

# The kernel git tree as a managed series lives in "$LINUX":
#   refs/tags/base        the unpacked Debian source, one commit
#   refs/embryo/applied   the HEAD that last matched patches/ (set by
#                         'make linux' after git am and by 'make export')
# A HEAD that differs from refs/embryo/applied has work not yet exported.

# Fixed identity and dates so the base commit has the same hash everywhere,
# and so exported patches do not change when nothing changed.
BASE_NAME="Debian linux-source"
BASE_EMAIL="debian-kernel@lists.debian.org"
BASE_DATE="2026-01-01T00:00:00Z"

lgit() {
	git -C "$LINUX" "$@"
}

# series_files: the patch files in series order (patches/series, else glob).
series_files() {
	local f
	if [ -f "$TOP/patches/series" ]; then
		while read -r f; do
			case "$f" in '' | '#'*) continue ;; esac
			echo "$TOP/patches/$f"
		done <"$TOP/patches/series"
	else
		for f in "$TOP"/patches/[0-9]*.patch; do
			[ -e "$f" ] || continue
			case "$f" in *0000-cover-letter.patch) continue ;; esac
			echo "$f"
		done
	fi
}

# key_of_patch FILE: a key for a patch file: its stable patch-id plus a hash
# of its subject and message body, so a reworded commit counts as changed.
key_of_patch() {
	local f=$1 tmp id msg
	tmp=$(mktemp -d)
	git mailinfo "$tmp/msg" "$tmp/patch" <"$f" >"$tmp/info"
	id=$(git patch-id --stable <"$tmp/patch" | cut -d' ' -f1)
	msg=$( { sed -n 's/^Subject: //p' "$tmp/info"; echo; cat "$tmp/msg"; } |
		sed -e 's/[[:space:]]*$//' | git stripspace | sha1sum | cut -c1-16)
	rm -rf "$tmp"
	echo "${id:-empty}-$msg"
}

# key_of_commit REV: the same key for a commit in the tree.
key_of_commit() {
	local rev=$1 id msg
	id=$(lgit show --format= "$rev" | git patch-id --stable | cut -d' ' -f1)
	msg=$(lgit log -1 --format=%B "$rev" | sed -e 's/[[:space:]]*$//' |
		git stripspace | sha1sum | cut -c1-16)
	echo "${id:-empty}-$msg"
}
