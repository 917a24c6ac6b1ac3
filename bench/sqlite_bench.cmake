# rtdemo_sqlite_bench (bench/sqlite_bench.cc): the plain SQLite insert loop
# that bench/sqlite_publish.sh compares POST /send against. Included from
# bench/CMakeLists.txt; skipped, with a message, where SQLite is missing, so
# the load generator still builds on its own.
find_package(SQLite3 QUIET)
if(SQLite3_FOUND)
  add_executable(rtdemo_sqlite_bench ${CMAKE_CURRENT_LIST_DIR}/sqlite_bench.cc)
  set_target_properties(rtdemo_sqlite_bench PROPERTIES
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF)
  target_compile_options(rtdemo_sqlite_bench PRIVATE -Wall -Wextra)
  target_link_libraries(rtdemo_sqlite_bench PRIVATE SQLite::SQLite3)
else()
  message(STATUS "SQLite3 not found: bench/rtdemo_sqlite_bench is not built")
endif()

# rtdemo_broker_bench (bench/broker_bench.cc): the same publishing measured
# at the Broker (SQLite and Redis backends, asynchronous publishers and
# batches). Built only inside the rtdemo tree, where rtdemo_storage exists.
if(TARGET rtdemo_storage)
  add_executable(rtdemo_broker_bench ${CMAKE_CURRENT_LIST_DIR}/broker_bench.cc)
  set_target_properties(rtdemo_broker_bench PROPERTIES
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF)
  target_compile_options(rtdemo_broker_bench PRIVATE -Wall -Wextra)
  target_link_libraries(rtdemo_broker_bench PRIVATE rtdemo_storage)
endif()
