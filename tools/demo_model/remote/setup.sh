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
# a checkpoint's parts gather in $RUN/parts-<sha256> (a different checkpoint never mixes in); joined
# once every part 0..n-1 is there; a whole that does not match is dropped with its parts, to be
# gathered again from the next calls' carries
for list in .d*/ckpt.list; do
    [ -f "$list" ] || continue
    read -r n sha < "$list"
    parts="$RUN/parts-$sha"
    mkdir -p "$parts"
    for f in "${list%/*}"/ckpt.part*; do
        [ -f "$f" ] && [ ! -f "$parts/${f##*/}" ] && cp "$f" "$parts/${f##*/}.tmp" && mv "$parts/${f##*/}.tmp" "$parts/${f##*/}"
    done
    [ -f "$parts/ckpt.list" ] || cp "$list" "$parts/ckpt.list"
done
for parts in "$RUN"/parts-*; do
    [ -f "$parts/ckpt.list" ] || continue
    read -r n sha < "$parts/ckpt.list"
    case "$n" in ''|*[!0-9]*) echo "checkpoint: $parts/ckpt.list is not '<parts> <sha256>'" >&2; exit 1 ;; esac
    if [ -f "$RUN/checkpoint.sha256" ] && [ "$(cat "$RUN/checkpoint.sha256")" = "$sha" ]; then
        echo "checkpoint: $RUN/checkpoint.pt"
        continue
    fi
    have=0
    for k in $(seq 0 $((n - 1))); do [ -f "$parts/ckpt.part$k" ] && have=$((have + 1)); done
    if [ "$have" -ne "$n" ]; then
        echo "checkpoint: $have of $n parts"
        continue
    fi
    for k in $(seq 0 $((n - 1))); do cat "$parts/ckpt.part$k"; done > "$RUN/checkpoint.tmp" || exit 1
    if [ "$(sha256sum < "$RUN/checkpoint.tmp" | cut -d' ' -f1)" != "$sha" ]; then
        rm -rf "$RUN/checkpoint.tmp" "$parts"
        echo "checkpoint: the joined parts do not match ckpt.list; carry them again" >&2
        exit 1
    fi
    mv "$RUN/checkpoint.tmp" "$RUN/checkpoint.pt" && echo "$sha" > "$RUN/checkpoint.sha256" || exit 1
    echo "checkpoint: $RUN/checkpoint.pt"
done
exit 0
