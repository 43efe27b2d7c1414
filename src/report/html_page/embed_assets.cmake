# Writes html_page_assets.h: the HTML report's style and scripts as C arrays,
# so that tlsheap carries them and a page needs nothing from elsewhere.
# cmake -DOUTPUT=... -DASSETS="NAME=FILE;..." -P embed_assets.cmake
set(text "// Generated from src/report/html_page by embed_assets.cmake: do not edit.\n#pragma once\n\nnamespace tlsheap::report {\n")
foreach(asset IN LISTS ASSETS)
  string(REPLACE "=" ";" parts "${asset}")
  list(GET parts 0 name)
  list(GET parts 1 file)
  file(READ "${file}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND text "inline constexpr char ${name}[] = {${bytes}'\\0'};\n")
endforeach()
string(APPEND text "} // namespace tlsheap::report\n")
file(WRITE "${OUTPUT}.tmp" "${text}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
