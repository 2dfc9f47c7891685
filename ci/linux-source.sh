#!/bin/bash
# Fetch Debian's linux-source package with a private apt configuration and
# unpack it once into the cache. Prints the path of the unpacked tree.
#
# Nothing is installed system-wide: apt reads its own source list and keeps
# its own package lists under $CACHE/apt. The mirror is the one the system's
# own apt sources use.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=../linux-source.env
. "$TOP/linux-source.env"

src="$CACHE/src/$LINUX_SRC_PKG_VERSION"
if [ -f "$src/.unpacked" ]; then
	echo "$src"
	exit 0
fi

mirror=$(mirror_uri)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*; add one (deb822 'URIs:' line)"

apt_dir="$CACHE/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$CACHE/dl"
cat >"$apt_dir/sources.list" <<EOT
deb $mirror experimental main
deb $mirror sid main
EOT
APT_OPTS=(-q
	-o Dir::Etc::SourceList="$apt_dir/sources.list"
	-o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$apt_dir/lists"
	-o Dir::Cache="$apt_dir/cache"
	-o Dir::State::status=/dev/null
	-o Debug::NoLocking=1
	-o APT::Sandbox::User=root)
APT=(apt-get "${APT_OPTS[@]}")

deb="$CACHE/dl/${LINUX_SRC_PKG}_${LINUX_SRC_PKG_VERSION}_all.deb"
if [ ! -f "$deb" ]; then
	note "downloading $LINUX_SRC_PKG=$LINUX_SRC_PKG_VERSION from $mirror (experimental, sid)"
	"${APT[@]}" update >"$apt_dir/update.log" 2>&1 ||
		die "apt-get update of the private source list failed (log: $apt_dir/update.log)"
	pkgver="$LINUX_SRC_PKG=$LINUX_SRC_PKG_VERSION"
	# Is the pinned version served? (apt-cache knows 'show'; apt-get does not.)
	if ! apt-cache "${APT_OPTS[@]}" show "$pkgver" 2>/dev/null | grep -q '^Package:'; then
		# The pinned version is gone: take the newest linux-source-7.3* or later.
		# linux-source-7.3 first if any version of it is served, then newer.
		newest=
		for name in $(apt-cache "${APT_OPTS[@]}" pkgnames linux-source- |
			grep -E '^linux-source-[0-9]+\.[0-9]+$' | sort -V); do
			lowest=$(printf '%s\n%s\n' "$name" "$LINUX_SRC_PKG" | sort -V | head -1)
			if [ "$lowest" = "$LINUX_SRC_PKG" ]; then
				newest=$name
				break
			fi
		done
		[ -n "$newest" ] || die "neither $pkgver nor any newer linux-source is served by $mirror"
		printf '\n*** WARNING: %s is no longer served; falling back to the newest %s ***\n*** The series may not apply; update linux-source.env once it does. ***\n\n' \
			"$pkgver" "$newest" >&2
		pkgver="$newest"
		LINUX_SRC_SHA256=
	fi
	tmp=$(mktemp -d "$CACHE/dl/tmp.XXXXXX")
	(cd "$tmp" && "${APT[@]}" download "$pkgver" >"$apt_dir/download.log" 2>&1) ||
		die "downloading $pkgver failed (log: $apt_dir/download.log)"
	got=$(ls "$tmp"/*.deb)
	if [ -n "$LINUX_SRC_SHA256" ]; then
		echo "$LINUX_SRC_SHA256  $got" | sha256sum -c --quiet - ||
			die "sha256 of $got does not match linux-source.env: refusing to use it"
	else
		# Cache a fallback under its own version, so that the pinned one is
		# still fetched once the mirror serves it again.
		ver=$(dpkg-deb -f "$got" Version)
		note "fallback package $pkgver, version $ver, sha256 $(sha256sum "$got" | cut -d' ' -f1)"
		deb="$CACHE/dl/${LINUX_SRC_PKG}_${ver}_all.deb"
		src="$CACHE/src/$ver"
	fi
	mv "$got" "$deb"
	rm -rf "$tmp"
fi

note "unpacking $deb into $src"
rm -rf "$src" "$src.tmp"
mkdir -p "$src.tmp"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$src.tmp" --wildcards './usr/src/linux-source-*.tar.*'
tarball=$(ls "$src.tmp"/usr/src/linux-source-*.tar.*)
mkdir -p "$src.tmp/tree"
tar -x -C "$src.tmp/tree" --strip-components=1 -f "$tarball"
mv "$src.tmp/tree" "$src"
rm -rf "$src.tmp"
touch "$src/.unpacked"
echo "$src"
