# cmake -P: writes OUTPUT (tlsheap.1.gz) with help2man from `TLSHEAP --help`,
# adding a COMMANDS section with every command's own --help (and those of
# its subcommands, `trace show` ...), so that the man page documents every option.

# Names listed under "Subcommands:" in a --help text.
function(subcommands_of help out)
  string(REGEX REPLACE ".*\nSubcommands:\n" "" list "${help}")
  if(list STREQUAL help)
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  string(REGEX MATCHALL "(^|\n)  [a-z][a-z0-9-]*" names "${list}")
  string(REGEX REPLACE "(^|\n)  " "" names "${names}")
  set(${out} ${names} PARENT_SCOPE)
endfunction()

# `TLSHEAP ARGS --help` as a roff section, fixed-width as printed.
function(help_section out)
  execute_process(COMMAND "${TLSHEAP}" ${ARGN} --help OUTPUT_VARIABLE help RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "tlsheap ${ARGN} --help exited ${status}")
  endif()
  # roff: a backslash is \e, a line that starts with . or ' is a request.
  string(REPLACE "\\" "\\e" text "${help}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  string(REPLACE ";" "\\;" args "${ARGN}")
  string(REPLACE ";" " " title "${ARGN}")
  set(${out} "${${out}}.SS ${title}\n.nf\n${text}.fi\n" PARENT_SCOPE)
  set(help_text "${help}" PARENT_SCOPE)
endfunction()

execute_process(COMMAND "${TLSHEAP}" --help OUTPUT_VARIABLE top RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "tlsheap --help exited ${status}")
endif()
subcommands_of("${top}" commands)
set(section "[COMMANDS]\nEach command's options, as `tlsheap COMMAND --help` prints them.\n")
foreach(command IN LISTS commands)
  help_section(section ${command})
  subcommands_of("${help_text}" nested)
  foreach(sub IN LISTS nested)
    help_section(section ${command} ${sub})
  endforeach()
endforeach()
string(APPEND section "[ENVIRONMENT]\n"
  ".TP\n.B TLSHEAP_CACHE_DIR\nThe cache of mbedTLS trees, builds and traces (default: $XDG_CACHE_HOME/tlsheap or ~/.cache/tlsheap).\n"
  ".TP\n.B TLSHEAP_LOCK_TIMEOUT\nSeconds to wait for a build or a trace that another tlsheap holds (default: 20 minutes for a build, 5 for a trace).\n"
  ".TP\n.B TLSHEAP_SOURCE_DIR\nA tlsheap checkout to take the recorder's sources and the scenarios from, instead of the installed ones.\n"
  ".TP\n.B TLSHEAP_STRICT_RECORDER\n1: compile the recorder with -Werror (tlsheap's own CI).\n"
  "[SEE ALSO]\nThe README and docs in /usr/share/doc/tlsheap; the JSON schemas in /usr/share/tlsheap/json-schema.\n")

get_filename_component(dir "${OUTPUT}" DIRECTORY)
set(include "${dir}/tlsheap-man-sections.h2m")
set(page "${dir}/tlsheap.1")
file(WRITE "${include}" "${section}")
execute_process(
  COMMAND "${HELP2MAN}" --no-info --no-discard-stderr --version-string=${VERSION}
          "--name=heap profiler and allocator replay for mbedTLS handshakes"
          --include=${include} --output=${page} "${TLSHEAP}"
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "help2man exited ${status}")
endif()
execute_process(COMMAND "${GZIP}" -9 -n -f "${page}" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "gzip exited ${status}")
endif()
