target_sources(vigil PRIVATE
  lib/model/status.cc
  lib/model/time.cc
  lib/model/dictionary.cc
  lib/model/model.cc
  lib/model/binary_io.cc
  lib/model/text.cc
  lib/model/cpu.cc)
