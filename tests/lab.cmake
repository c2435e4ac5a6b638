# tests/lab.cmake: the lab's tests. The unit tests link the lab's engine; the command tests run
# build/carve through tests/lab/*.sh.
foreach(t lab_replay lab_sim lab_map lab_simheap)
  if(TARGET test_unit_${t})
    target_link_libraries(test_unit_${t} PRIVATE carve_lab)
  endif()
endforeach()

add_test(NAME lab.replay_cli COMMAND bash ${PROJECT_SOURCE_DIR}/tests/lab/replay_cli.sh $<TARGET_FILE:carve_cli>)
add_test(NAME lab.sim_golden COMMAND bash ${PROJECT_SOURCE_DIR}/tests/lab/sim_golden.sh $<TARGET_FILE:carve_cli>)
add_executable(lab_record_pattern ${PROJECT_SOURCE_DIR}/tests/lab/record_pattern.c)
set_target_properties(lab_record_pattern PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CARVE_TEST_DIR})
target_link_libraries(lab_record_pattern PRIVATE Threads::Threads)
add_test(NAME lab.record_roundtrip COMMAND bash ${PROJECT_SOURCE_DIR}/tests/lab/record_roundtrip.sh
         $<TARGET_FILE:carve_cli> $<TARGET_FILE:lab_record_pattern>)
set_tests_properties(lab.record_roundtrip PROPERTIES LABELS nosan TIMEOUT 120)
foreach(t lab_replay lab_map)
  if(TARGET test_unit_${t})
    target_include_directories(test_unit_${t} PRIVATE ${PROJECT_SOURCE_DIR}/tests/lab)
  endif()
endforeach()
if(EXISTS ${PROJECT_SOURCE_DIR}/src/heap AND EXISTS ${PROJECT_SOURCE_DIR}/src/buddy.c)
  add_test(NAME lab.map_cli COMMAND bash ${PROJECT_SOURCE_DIR}/tests/lab/map_cli.sh $<TARGET_FILE:carve_cli>)
endif()
