# Writes LibraryFragments.inc: one {name, text} entry per fragment file of
# specs/library/ (name = file name without .toml), as raw string literals.
# Run as: cmake -DLIBRARY_DIR=... -DOUTPUT=... -P EmbedLibrary.cmake
file(GLOB fragments "${LIBRARY_DIR}/*.toml")
list(SORT fragments)
set(body "// Generated from specs/library/*.toml by EmbedLibrary.cmake.\n")
string(APPEND body "const Fragment kFragments[] = {\n")
foreach(path ${fragments})
  get_filename_component(name "${path}" NAME_WLE)
  file(READ "${path}" text)
  string(APPEND body "    {\"${name}\", R\"rwkvfragment(${text})rwkvfragment\"},\n")
endforeach()
string(APPEND body "};\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL body)
  file(WRITE "${OUTPUT}" "${body}")
endif()
