# Run at every build (cmake -P): writes OUTPUT, a header with the commit of
# SOURCE_DIR, rewriting it only when the commit changed so that nothing
# recompiles otherwise. Outside a git checkout the commit is "unknown".
execute_process(
  COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE status ERROR_QUIET)
if(NOT status EQUAL 0 OR NOT commit MATCHES "^[0-9a-f]+$")
  set(commit "unknown")
endif()
file(WRITE "${OUTPUT}.new"
  "// Generated at build time by src/cli/commit_id.cmake.\n"
  "#pragma once\n\n"
  "namespace tlsheap {\n"
  "inline constexpr const char* kTlsheapCommit = \"${commit}\";\n"
  "} // namespace tlsheap\n")
execute_process(COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${OUTPUT}.new" "${OUTPUT}")
file(REMOVE "${OUTPUT}.new")
