target_sources(vigil PRIVATE
  lib/config/json.cc
  lib/config/config.cc
  lib/config/default_config.cc)
