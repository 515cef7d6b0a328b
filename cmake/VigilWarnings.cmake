# Warnings are PRIVATE options of vigil's own targets; never global flags.
function(vigil_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
     AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 reports -Wrestrict inside libstdc++ for ordinary std::string insert / operator+
    # once inlined at -O2 (GCC bugs 105329 and 105651, fixed in 13); the warning is about the
    # library's own code, not ours.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()

# Sanitizer builds: -DVIGIL_SANITIZE=address,undefined applies to every vigil target.
set(VIGIL_SANITIZE "" CACHE STRING "Sanitizers for vigil's targets, e.g. address,undefined")
if(VIGIL_SANITIZE)
  add_compile_options(-fsanitize=${VIGIL_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${VIGIL_SANITIZE})
endif()
