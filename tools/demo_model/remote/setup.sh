# On the GPU machine, from the repository root: install the carried wheels (once per machine) and
# gather the carried data into $DATA. Each carry leaves its folder behind on a warm machine; the
# shards are copied to $DATA as well, so either copy may survive to the training call.
SITE=${SITE:-/tmp/site} DATA=${DATA:-/tmp/data}
[ -d "$SITE/nemo" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target "$SITE" .whl/*.whl || exit 1
mkdir -p "$DATA/train"
[ -d "$DATA/tokenizer" ] || cp -r .d1/tokenizer "$DATA/" || exit 1
[ -f "$DATA/train/manifest.jsonl" ] || gunzip -c .d1/manifest.jsonl.gz > "$DATA/train/manifest.jsonl" || exit 1
for f in .d*/*.ogg; do [ -f "$f" ] && [ ! -f "$DATA/train/${f##*/}" ] && cp "$f" "$DATA/train/"; done
echo "shards: $(ls "$DATA"/train/*.ogg | wc -l)"
