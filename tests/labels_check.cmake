# The check behind the test `test_labels`: the label list at the top of
# tests/CMakeLists.txt (RTDEMO_TEST_LABELS) is complete and true. It fails,
# naming what is wrong, when a test carries no label, when a test carries a
# label that is not in the list, or when a listed label is on no test (a
# stale entry). It reads ctest's own view of the build tree, so it sees the
# labels exactly as `ctest -L` does, including those gtest_discover_tests
# sets after discovery.
#
#   cmake -DCTEST=<ctest> -DBUILD_DIR=<build> -DLABELS="unit;memory;..." -P labels_check.cmake
cmake_minimum_required(VERSION 3.19)

foreach(var CTEST BUILD_DIR LABELS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "labels_check.cmake: -D${var}= is missing")
  endif()
endforeach()

set(problems "")

# Labels in use, as `ctest --print-labels` prints them (two spaces, a name).
execute_process(COMMAND "${CTEST}" --print-labels
                WORKING_DIRECTORY "${BUILD_DIR}"
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ctest --print-labels failed in ${BUILD_DIR}")
endif()
string(REGEX MATCHALL "\n  [^\n]+" used_lines "${out}")
set(used "")
foreach(line IN LISTS used_lines)
  string(STRIP "${line}" label)
  list(APPEND used "${label}")
endforeach()
foreach(label IN LISTS used)
  if(NOT label IN_LIST LABELS)
    string(APPEND problems "label '${label}' is used but not listed in tests/CMakeLists.txt\n")
  endif()
endforeach()
foreach(label IN LISTS LABELS)
  if(NOT label IN_LIST used)
    string(APPEND problems "label '${label}' is listed but no test carries it\n")
  endif()
endforeach()

# Tests outside every listed label: those with none, or with only unknown ones.
list(JOIN LABELS "|" alternatives)
execute_process(COMMAND "${CTEST}" -N -LE "^(${alternatives})$"
                WORKING_DIRECTORY "${BUILD_DIR}"
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
string(REGEX MATCHALL "Test +#[0-9]+: [^\n]+" unlabelled "${out}")
foreach(test IN LISTS unlabelled)
  # gtest_discover_tests stands "<executable>_NOT_BUILT" in for a test
  # executable that this build tree does not build (the ASan tree leaves
  # out NO_SANITIZE ones, tests/CMakeLists.txt): not a test, so no labels.
  if(test MATCHES "_NOT_BUILT$")
    continue()
  endif()
  string(APPEND problems "${test} has no listed label\n")
endforeach()
if(NOT unlabelled AND NOT out MATCHES "Total Tests: 0")
  string(APPEND problems "cannot read ctest -N -LE's answer:\n${out}\n")
endif()

if(problems)
  message(FATAL_ERROR "test labels:\n${problems}")
endif()
list(LENGTH used n)
message(STATUS "test labels: ${n} labels, every test carries at least one")
