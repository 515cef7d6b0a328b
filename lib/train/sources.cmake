target_sources(vigil PRIVATE
  lib/train/logistic.cc)
