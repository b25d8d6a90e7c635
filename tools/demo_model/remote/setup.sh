# On the GPU machine, from the repository root: install the carried wheels (once per machine), gather
# the carried data into $DATA and, when prepare.py --resume sent a checkpoint, join its parts into
# $RUN/checkpoint.pt once all have arrived (checked against the SHA-256 in ckpt.list). Each carry leaves its folder behind on a warm machine; the
# shards are copied to $DATA as well, so either copy may survive to the training call. Every step
# writes under a temporary name first: a step cut short is redone by the next call.
SITE=${SITE:-/tmp/site} DATA=${DATA:-/tmp/data} RUN=${RUN:-/tmp/run}
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
for f in .d*/ckpt.*; do
    [ -f "$f" ] || continue
    mkdir -p "$RUN/parts"
    [ ! -f "$RUN/parts/${f##*/}" ] && cp "$f" "$RUN/parts/${f##*/}.tmp" && mv "$RUN/parts/${f##*/}.tmp" "$RUN/parts/${f##*/}"
done
if [ -f "$RUN/parts/ckpt.list" ] && [ ! -f "$RUN/checkpoint.pt" ]; then
    read -r n sha < "$RUN/parts/ckpt.list"
    have=$(ls "$RUN"/parts/ckpt.part* 2>/dev/null | grep -cv '\.tmp$')
    if [ "$have" -eq "$n" ]; then
        for k in $(seq 0 $((n - 1))); do cat "$RUN/parts/ckpt.part$k"; done > "$RUN/checkpoint.tmp" || exit 1
        if [ "$(sha256sum < "$RUN/checkpoint.tmp" | cut -d' ' -f1)" != "$sha" ]; then
            rm -f "$RUN/checkpoint.tmp"; echo "checkpoint: the joined parts do not match ckpt.list" >&2; exit 1
        fi
        mv "$RUN/checkpoint.tmp" "$RUN/checkpoint.pt"
    fi
    echo "checkpoint: $have of $n parts"
fi
[ -f "$RUN/checkpoint.pt" ] && [ -f "$RUN/parts/ckpt.list" ] && echo "checkpoint: $RUN/checkpoint.pt"
exit 0
