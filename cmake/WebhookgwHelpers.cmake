# Target helpers: every project target gets the same warnings and, when
# requested, the same sanitizers, without touching global flags.

function(webhookgw_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(WEBHOOKGW_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${WEBHOOKGW_SANITIZE}
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${WEBHOOKGW_SANITIZE})
  endif()
endfunction()

# webhookgw_library(NAME SRCS ... DEPS ...): a static library of one component.
function(webhookgw_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  add_library(webhookgw::${name} ALIAS ${name})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
  webhookgw_target_defaults(${name})
endfunction()

# webhookgw_test(NAME SRCS ... DEPS ...): a GoogleTest binary registered with CTest.
function(webhookgw_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  webhookgw_target_defaults(${name})
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()

# webhookgw_fuzzer(NAME SRCS ... DEPS ...): a libFuzzer target (clang only).
function(webhookgw_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  if(NOT WEBHOOKGW_FUZZ)
    return()
  endif()
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()
