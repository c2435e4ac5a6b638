# The C examples in README.md and docs/*.md compile and run.
if(NOT CARVE_SANITIZE)
  add_test(NAME docs.examples COMMAND bash ${PROJECT_SOURCE_DIR}/tests/docs/snippets_test.sh
           ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
  set_tests_properties(docs.examples PROPERTIES LABELS nosan TIMEOUT 120)
endif()
