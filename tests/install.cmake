# make install: a consumer builds against the installed tree through pkg-config and CMake.
if(NOT CARVE_SANITIZE)
  add_test(NAME install.consumers COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/install_test.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(install.consumers PROPERTIES LABELS nosan TIMEOUT 120)
endif()
