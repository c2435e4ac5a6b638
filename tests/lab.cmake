# tests/lab.cmake: the lab's tests. The unit tests link the lab's engine; the command tests run
# build/carve through tests/lab/*.sh.
foreach(t lab_replay lab_sim lab_map)
  if(TARGET test_unit_${t})
    target_link_libraries(test_unit_${t} PRIVATE carve_lab)
  endif()
endforeach()

add_test(NAME lab.replay_cli COMMAND bash ${PROJECT_SOURCE_DIR}/tests/lab/replay_cli.sh $<TARGET_FILE:carve_cli>)
add_test(NAME lab.sim_golden COMMAND bash ${PROJECT_SOURCE_DIR}/tests/lab/sim_golden.sh $<TARGET_FILE:carve_cli>)
