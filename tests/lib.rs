//! Shared helpers for the system tests (paths to the built binaries and fixtures).
