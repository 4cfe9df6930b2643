//! The app's project descriptor (SPEC §9).
