#!/usr/bin/env bash
# check_config_doc_test: scripts/check-config-doc.mjs passes when
# docs/configuration.md and etc/rtdemo.properties agree, and fails (exit 1,
# naming the key) on each kind of disagreement alone: a key without a row, a
# row without a key, a default changed on one side, an empty default the row
# does not call empty.
#   check_config_doc_test.sh NODE CHECK_CONFIG_DOC_MJS
set -euo pipefail
node="$1"
check="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/etc" "$work/docs"

write_good() {
  cat > "$work/etc/rtdemo.properties" <<'PROPS'
# a comment: rtdemo.not.a.key = 1
rtdemo.port = 5000
rtdemo.port-file =
rtdemo.limits.exempt = 127.0.0.0/8, ::1
PROPS
  cat > "$work/docs/configuration.md" <<'MD'
| Key | Default | Meaning |
|---|---|---|
| `rtdemo.port` | `5000` | TCP port |
| `rtdemo.port-file` | empty (no file) | where the port goes |
| `rtdemo.limits.exempt` | `127.0.0.0/8, ::1` | exempt addresses |
MD
}

source "$(dirname "$0")/expect_run.sh"
run() {  # run EXPECTED_EXIT EXPECTED_TEXT
  expect_run "$1" "$2" "$node" "$check" --root "$work"
}

write_good
run 0 "3 keys, the same defaults"

write_good
echo 'rtdemo.new.key = 7' >> "$work/etc/rtdemo.properties"
run 1 "rtdemo.new.key has no row in docs/configuration.md"

write_good
echo '| `rtdemo.gone` | `1` | removed from the file |' >> "$work/docs/configuration.md"
run 1 "rtdemo.gone is not in etc/rtdemo.properties"

write_good
sed -i 's/^rtdemo.port = 5000/rtdemo.port = 6000/' "$work/etc/rtdemo.properties"
run 1 'rtdemo.port defaults to "6000" in etc/rtdemo.properties, but the row says `5000`'

write_good
sed -i 's/^| `rtdemo.port-file` | empty (no file)/| `rtdemo.port-file` | `port.txt`/' "$work/docs/configuration.md"
run 1 'rtdemo.port-file defaults to "" in etc/rtdemo.properties'

echo "check_config_doc_test: passed"
