# Sources of lib/config (owned by the config component).
