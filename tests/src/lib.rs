//! End-to-end tests of contract-search; the tests live in `tests/e2e/`, one module per area.
//! This library is empty: the package exists for its test binary.
