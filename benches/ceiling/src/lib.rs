//! What both yardsticks share: the address, from `--addr HOST:PORT` as the harness passes it.

/// The value after `--addr`, or 127.0.0.1:8000.
pub fn addr() -> String {
    std::env::args()
        .skip_while(|a| a != "--addr")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
}
