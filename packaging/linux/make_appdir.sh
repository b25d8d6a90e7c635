#!/usr/bin/env bash
# AppDir + squashfs image from the onedir bundle: everything an AppImage needs except the AppImage runtime,
# which must be downloaded (see packaging/README.md: cat runtime-x86_64 captioner.squashfs > Captioner.AppImage).
# The AppDir keeps every bundled library (unlike the .deb): an AppImage must run on any distribution.
#   packaging/linux/make_appdir.sh build/dist/captioner build/dist VERSION
set -euo pipefail
bundle=$(realpath "$1"); out=$(realpath "$2"); version=$3
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
appdir="$root/build/appdir/Captioner.AppDir"
rm -rf "$appdir"; mkdir -p "$appdir/usr/lib" "$appdir/usr/share/applications" "$appdir/usr/share/metainfo"
cp -a "$bundle" "$appdir/usr/lib/captioner"
cat > "$appdir/AppRun" <<'RUN'
#!/bin/sh
# AppImage entry: the PyInstaller bootloader finds its _internal folder next to the real executable.
here=$(dirname "$(readlink -f "$0")")
exec "$here/usr/lib/captioner/captioner" "$@"
RUN
chmod 755 "$appdir/AppRun"
cp "$here/captioner.desktop" "$appdir/captioner.desktop"
cp "$here/captioner.desktop" "$appdir/usr/share/applications/captioner.desktop"
cp "$root/resources/captioner-256.png" "$appdir/captioner.png"
ln -s captioner.png "$appdir/.DirIcon"
for size in 32 64 256; do
  mkdir -p "$appdir/usr/share/icons/hicolor/${size}x${size}/apps"
  cp "$root/resources/captioner-$size.png" "$appdir/usr/share/icons/hicolor/${size}x${size}/apps/captioner.png"
done
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}" +%F)
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" "$here/io.github.captioner.Captioner.metainfo.xml" \
  > "$appdir/usr/share/metainfo/io.github.captioner.Captioner.appdata.xml"
mkdir -p "$out"
# zstd: what the current AppImage runtime (type2-runtime) reads; fast to build and to start.
mksquashfs "$appdir" "$out/captioner-$version-x86_64.squashfs" -root-owned -noappend -comp zstd -quiet \
  -processors "$(nproc)" >/dev/null
echo "$out/captioner-$version-x86_64.squashfs"
