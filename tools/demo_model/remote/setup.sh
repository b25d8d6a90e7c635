# On the GPU machine, from the repository root: install the carried wheels (once per machine) and
# gather the carried data into $DATA. Each carry leaves its folder behind on a warm machine; the
# shards are copied to $DATA as well, so either copy may survive to the training call. Every step
# writes under a temporary name first: a step cut short is redone by the next call.
SITE=${SITE:-/tmp/site} DATA=${DATA:-/tmp/data}
if [ ! -f "$SITE/.installed" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        .whl/*.whl && touch "$SITE/.installed" || exit 1
fi
mkdir -p "$DATA/train"
if [ ! -d "$DATA/tokenizer" ]; then
    rm -rf "$DATA/tokenizer.tmp" && cp -r .d1/tokenizer "$DATA/tokenizer.tmp" && mv "$DATA/tokenizer.tmp" "$DATA/tokenizer" || exit 1
fi
if [ ! -f "$DATA/train/manifest.jsonl" ]; then
    gunzip -c .d1/manifest.jsonl.gz > "$DATA/train/manifest.tmp" && mv "$DATA/train/manifest.tmp" "$DATA/train/manifest.jsonl" || exit 1
fi
for f in .d*/*.ogg; do
    [ -f "$f" ] && [ ! -f "$DATA/train/${f##*/}" ] && cp "$f" "$DATA/train/${f##*/}.tmp" && mv "$DATA/train/${f##*/}.tmp" "$DATA/train/${f##*/}"
done
echo "shards: $(ls "$DATA"/train/*.ogg | wc -l)"
