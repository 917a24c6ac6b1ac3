#!/usr/bin/env bash
# layering_check.sh: fails when a layer of rtdemo includes a header of a
# layer above it (issue 19; the library graph is in service/CMakeLists.txt).
#   scripts/layering_check.sh [source dir]    (ctest runs it: LayeringCheck)
#
# Each folder below may include only its own headers and those of the
# folders listed for it. "model" is the part of storage/ every layer shares
# without linking rtdemo_storage: rtdemo_model's headers (message, message
# id, status), the header-only stream types, clock and thread name. CMake checks the
# same graph for the libraries each target links (cmake/rtdemo_layers.cmake),
# so an upward include fails here by name and an upward link fails the
# configure step.
#
# A new folder, or a new dependency, is a line in the table: a dependency
# that is not there is an upward (or sideways) reach to be argued for first.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

model='storage/(message|message_id|status|stream|clock|thread_name)\.h'

# folder          may include (besides itself)
table='
storage           -
service/protocol  model
service/streams   service/protocol model
service/metrics   -
service/config    model
service/security  service/config service/metrics model
service/hub       service/protocol service/metrics storage
service/http      service/hub service/security service/streams service/protocol service/metrics storage
service/app       service/http service/hub service/security service/streams service/protocol service/metrics service/config storage
tools             service/security model
fuzz              service/protocol service/streams service/security storage tests/support
'

failed=0
while read -r folder allowed; do
  [[ -z "$folder" ]] && continue
  [[ -d "$folder" ]] || { echo "layering: no folder $folder" >&2; failed=1; continue; }
  # The include patterns this folder may use.
  patterns=("^${folder}/")
  for dep in $allowed; do
    case "$dep" in
      -) ;;
      model) patterns+=("^${model}\$") ;;
      *) patterns+=("^${dep}/") ;;
    esac
  done
  # Every quoted include of one of our folders, as file:line:path.
  while IFS= read -r hit; do
    path="${hit##*:}"
    ok=0
    for p in "${patterns[@]}"; do
      if [[ "$path" =~ $p ]]; then ok=1; break; fi
    done
    if [[ $ok == 0 ]]; then
      echo "layering: ${hit%:*} includes $path, which $folder may not use" >&2
      failed=1
    fi
  done < <(grep -rnoE --include='*.h' --include='*.cc' \
             '^[[:space:]]*#[[:space:]]*include[[:space:]]+"(service|storage|tools|tests|bench|fuzz)/[^"]+"' \
             "$folder" |
           sed -E 's/:[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)"$/:\1/')
done <<< "$table"

# No source file at the top of service/: each belongs to one layer's folder.
for f in service/*.cc service/*.h; do
  [[ -e "$f" ]] || continue
  echo "layering: $f is at the top of service/; it belongs in one layer's folder" >&2
  failed=1
done

if [[ $failed == 0 ]]; then echo "layering: every include goes downward"; fi
exit $failed
