#!/bin/sh
# Compares `backsight logs` output of two binaries on the Loghub-2k sets with their header layouts
# (src/backsight/logs/parse_eval.cc), in text and JSON, with --structured, --state-out/--state-in,
# --multiline none, a small bucket, a small template cap and gzip input. Timing figures ("in N s",
# "seconds") are masked. Prints one line per case and exits 1 on any difference.
# Usage: scripts/compare-logs-output.sh OLD_BINARY NEW_BINARY [LOGHUB2K_DIR]
set -u
old=$1 new=$2 data=${3:-${BACKSIGHT_DATA:-../shared/data}/loghub2k}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
fail=0 cases=0
mask() { sed -e 's/templates in [0-9.]* s$/templates in X s/' -e 's/"seconds": [0-9.e+-]*/"seconds": X/' "$1"; }
# run NAME ARGS...: runs both binaries with ARGS; {OUT} in ARGS is a per-binary output prefix.
run() {
  name=$1; shift
  for b in old new; do
    bin=$old; [ $b = new ] && bin=$new
    args=$(printf '%s\n' "$@" | sed "s|{OUT}|$tmp/$b.|g")
    # shellcheck disable=SC2086
    (IFS='
'; "$bin" logs -q $args > "$tmp/$b.stdout" 2> "$tmp/$b.stderr"; echo $? > "$tmp/$b.rc")
    mask "$tmp/$b.stdout" > "$tmp/$b.masked"
  done
  cases=$((cases + 1))
  for k in masked stderr rc structured.csv state state2; do
    if [ -e "$tmp/old.$k" ] || [ -e "$tmp/new.$k" ]; then
      if ! cmp -s "$tmp/old.$k" "$tmp/new.$k"; then echo "DIFF $name ($k)"; fail=1; fi
    fi
  done
  echo "same $name ($(wc -c < "$tmp/new.stdout") bytes out, exit $(cat "$tmp/new.rc"))"
  rm -f "$tmp"/old.* "$tmp"/new.*
}
while IFS='|' read -r ds fmt; do
  f=$data/$ds/${ds}_2k.log
  run "$ds text" "$f" --header "$fmt"
  run "$ds json" "$f" --header "$fmt" --format json --top 0 --max-anomalies 100000
  run "$ds structured" "$f" --header "$fmt" --structured "{OUT}structured.csv"
  run "$ds state" "$f" --header "$fmt" --state-out "{OUT}state"
  head -1000 "$f" > "$tmp/a.log"; tail -n +1001 "$f" > "$tmp/b.log"
  "$old" logs -q "$tmp/a.log" --header "$fmt" --state-out "$tmp/s1" > /dev/null
  run "$ds state-in" "$tmp/b.log" --header "$fmt" --state-in "$tmp/s1" --format json --top 0 \
      --state-out "{OUT}state2"
  run "$ds multiline-none bucket-5s cap-20" "$f" --header "$fmt" --multiline none --bucket 5 \
      --max-templates 20 --format json --top 0
  run "$ds raw" "$f"
  gzip -c "$f" > "$tmp/in.gz"
  run "$ds gzip x2" "$tmp/in.gz" "$f" --header "$fmt"
done <<'LIST'
HDFS|<Date> <Time> <Pid> <Level> <Component>: <Content>
Hadoop|<Date> <Time> <Level> \[<Process>\] <Component>: <Content>
Spark|<Date> <Time> <Level> <Component>: <Content>
Zookeeper|<Date> <Time> - <Level>  \[<Node>:<Component>@<Id>\] - <Content>
BGL|<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> <Content>
HPC|<LogId> <Node> <Component> <State> <Time> <Flag> <Content>
Windows|<Date> <Time>, <Level>                  <Component>    <Content>
Android|<Date> <Time>  <Pid>  <Tid> <Level> <Component>: <Content>
HealthApp|<Time>\|<Component>\|<Pid>\|<Content>
Apache|\[<Time>\] \[<Level>\] <Content>
OpenSSH|<Date> <Day> <Time> <Component> sshd\[<Pid>\]: <Content>
LIST
# Stack traces (continuation lines) and lines not matching the header, mixed.
{
  i=0
  while [ $i -lt 300 ]; do
    echo "2024-01-01T00:$(printf %02d $((i / 60))):$(printf %02d $((i % 60)))Z ERROR svc request $i failed"
    echo "java.lang.IllegalStateException: bad state $i"
    echo "    at com.example.Foo.bar(Foo.java:$i)"
    echo "Caused by: java.io.IOException: closed"
    echo "	... $i more"
    echo "garbage line without header $((i % 7))"
    i=$((i + 1))
  done
} > "$tmp/multi.log"
run "multiline+unmatched text" "$tmp/multi.log" --header '<Time> <Level> <Content>'
run "multiline+unmatched json" "$tmp/multi.log" --header '<Time> <Level> <Content>' --format json \
    --top 0 --bucket 1 --structured "{OUT}structured.csv"
run "multiline none" "$tmp/multi.log" --header '<Time> <Level> <Content>' --multiline none
echo "$cases cases, $([ $fail = 0 ] && echo 'all identical' || echo 'DIFFERENCES')"
exit $fail
