# Shared by scripts/bench-build and scripts/bench-pack (source it; bash only): rounds of two
# commands in alternating order, one of each per round, then each side's median and the
# median of the rounds' ratios. Callers set $work (a scratch directory) and $rounds.

# Milliseconds one command takes (its output goes to $work/runs.log).
millis() {
    local start end
    start=$(date +%s%N)
    "$@" >>"$work/runs.log" 2>&1 || { echo "failed: $*; see below" >&2; tail -n 30 "$work/runs.log" >&2; exit 1; }
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

# bench NAME PREPARE OURS THEIRS: $rounds rounds of OURS and THEIRS (shell command lines),
# in alternating order; PREPARE (a command, or :) runs before each measured run. The times
# go to $work/NAME.tsv, one round a line.
bench() {
    local name=$1 prepare=$2 ours=$3 theirs=$4 round a b
    : >"$work/$name.tsv"
    for round in $(seq 1 "$rounds"); do
        if [ $((round % 2)) -eq 1 ]; then
            $prepare; a=$(millis bash -c "$ours")
            $prepare; b=$(millis bash -c "$theirs")
        else
            $prepare; b=$(millis bash -c "$theirs")
            $prepare; a=$(millis bash -c "$ours")
        fi
        printf '%s\t%s\n' "$a" "$b" >>"$work/$name.tsv"
    done
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# report NAME OURS-LABEL THEIRS-LABEL TARGET: prints the medians of $work/NAME.tsv and the
# median of its rounds' ratios (with the target, when there is one).
report() {
    local name=$1 ours=$2 theirs=$3 target=$4
    local a b r
    a=$(cut -f1 "$work/$name.tsv" | median)
    b=$(cut -f2 "$work/$name.tsv" | median)
    r=$(awk -F'\t' '{ printf "%.4f\n", $1 / $2 }' "$work/$name.tsv" | median)
    printf '%-15s median %7.1f ms\n%-15s median %7.1f ms\n' "$ours" "$a" "$theirs" "$b"
    printf 'ratio %s / %s (median of %s rounds) = %.3f%s\n\n' "$ours" "$theirs" "$rounds" "$r" \
        "${target:+ (target <= $target)}"
}
