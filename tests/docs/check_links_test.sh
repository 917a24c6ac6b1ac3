#!/usr/bin/env bash
# check_links_test: scripts/check-links.mjs passes a document whose links all
# resolve, and fails (exit 1, naming the line) on each kind of dead
# reference alone: a link to a missing file, an anchor no heading has, and a
# repository path cited in backticks that does not exist (unless the
# document declares it planned).
#   check_links_test.sh NODE CHECK_LINKS_MJS
set -euo pipefail
node="$1"
check="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/docs" "$work/service/hub"
touch "$work/service/hub/hub.h"
cat > "$work/docs/other.md" <<'MD'
# Other

## A `code` heading (with punctuation)

## Twice
## Twice
MD

write_good() {
  cat > "$work/README.md" <<'MD'
# Title

See [the other page](docs/other.md), [its heading](docs/other.md#a-code-heading-with-punctuation),
[the second Twice](docs/other.md#twice-1), [this page's title](#title),
![a folder](docs/) and [a site](https://example.com/missing.md).
The hub is `service/hub/hub.h`; `build/rtdemo` and `var/x.db` are not checked,
nor is a pattern like `service/*.cc`.

```sh
cat [not a link](nowhere.md) `service/not/checked.h`
```
MD
}

source "$(dirname "$0")/expect_run.sh"
run() {  # run EXPECTED_EXIT EXPECTED_TEXT
  expect_run "$1" "$2" "$node" "$check" --root "$work" README.md docs/other.md
}

write_good
run 0 "every link and cited path resolves"

write_good
echo 'A [dead link](docs/missing.md).' >> "$work/README.md"
run 1 "README.md:12: link to docs/missing.md: no such file"

write_good
echo 'A [dead anchor](docs/other.md#no-such-heading).' >> "$work/README.md"
run 1 'no heading "#no-such-heading" in docs/other.md'

write_good
echo 'An [anchor on this page](#nowhere).' >> "$work/README.md"
run 1 'no heading "#nowhere" in README.md'

write_good
echo 'It lives in `service/hub/gone.h`.' >> "$work/README.md"
run 1 'cites `service/hub/gone.h`: no such path'

write_good
printf '%s\n' '<!-- check-links: planned service/streams/ -->' \
  'Planned: `service/streams/offset.h`; not planned: `service/other/x.h`.' >> "$work/README.md"
run 1 'cites `service/other/x.h`: no such path'
if grep -q 'service/streams' <<<"$out"; then
  echo "FAIL: a path declared planned was reported"; exit 1
fi

echo "check_links_test: passed"
