# The trace reader's unit test links the labkit as well.
target_link_libraries(test_unit_trace PRIVATE carve_labkit)
