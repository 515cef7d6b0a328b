# Warnings are PRIVATE options of vigil's own targets; never global flags.
function(vigil_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
endfunction()

# Sanitizer builds: -DVIGIL_SANITIZE=address,undefined applies to every vigil target.
set(VIGIL_SANITIZE "" CACHE STRING "Sanitizers for vigil's targets, e.g. address,undefined")
if(VIGIL_SANITIZE)
  add_compile_options(-fsanitize=${VIGIL_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${VIGIL_SANITIZE})
endif()
