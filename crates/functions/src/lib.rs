//! The wharf Lambda engine: registry, versions and aliases, invocations, process supervisor
