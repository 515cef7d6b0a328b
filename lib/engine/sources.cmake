# Sources of lib/engine (owned by the engine component).
