# The labkit's unit tests (the trace reader, the order statistics) link the labkit as well.
foreach(t trace measure)
  target_link_libraries(test_unit_${t} PRIVATE carve_labkit)
endforeach()
