#!/usr/bin/env bash
# macOS: Captioner.app (PyInstaller BUNDLE, see packaging/captioner.spec) and a compressed .dmg with an
# Applications link. Run on a Mac with Python 3.10+ (universal2 or the runner's arch); needs no network after pip.
#   packaging/macos/build_dmg.sh          # -> build/dist/Captioner-VERSION-macos-ARCH.dmg
# Unsigned unless CODESIGN_IDENTITY is set (then hardened-runtime signed; notarise with `xcrun notarytool`).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
[ -x build/bundle-venv/bin/python ] || "$PYTHON" -m venv build/bundle-venv
# requirements-bundle.txt has plain onnxruntime (the only one on macOS); Pillow turns the PNG icon into .icns.
build/bundle-venv/bin/python -m pip install -q -r packaging/requirements-bundle.txt pillow
build/bundle-venv/bin/python -m pip install -q --no-deps -e .
version=$(build/bundle-venv/bin/python -c 'import importlib.metadata as m; print(m.version("captioner"))')
build/bundle-venv/bin/pyinstaller --noconfirm --clean --distpath build/dist --workpath build/pyi-cpu \
  packaging/captioner.spec
app=build/dist/Captioner.app
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --entitlements packaging/macos/entitlements.plist \
    --sign "$CODESIGN_IDENTITY" "$app"
fi
model_args=()  # no default model bundled yet: the smoke test loads the small test model
[ -f models/captioner-demo-en/captioner-model.json ] || model_args=(--model tests/fixtures/models/tiny-a)
"$app/Contents/MacOS/captioner" --smoke-test --settings "$(mktemp -d)/s.ini" ${model_args[@]+"${model_args[@]}"} >/dev/null
stage=$(mktemp -d)
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="build/dist/Captioner-$version-macos-$(uname -m).dmg"
rm -f "$dmg"
hdiutil create -volname "Captioner $version" -srcfolder "$stage" -format UDZO -fs HFS+ "$dmg"
echo "$dmg"
