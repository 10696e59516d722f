//! Reading the event from stdin: always to EOF, at most 16 MiB kept.

use std::io::Read;

use crate::error::HostError;

/// The largest event accepted (decisions.md: up to 16 MiB; the core's limit).
pub const MAX_EVENT_BYTES: u64 = sensu_reactio_core::MAX_EVENT_BYTES as u64;

/// Read everything from `source` to EOF. More than [`MAX_EVENT_BYTES`] is an input
/// error, but the rest is still drained so Sensu's pipe never breaks.
pub fn read_event_from(mut source: impl Read) -> Result<Vec<u8>, HostError> {
    let mut event = Vec::with_capacity(8 * 1024);
    let kept = (&mut source)
        .take(MAX_EVENT_BYTES + 1)
        .read_to_end(&mut event)
        .map_err(|e| HostError::Input(format!("could not read the event from stdin: {e}")))?;
    if kept as u64 > MAX_EVENT_BYTES {
        let rest = std::io::copy(&mut source, &mut std::io::sink()).unwrap_or(0);
        return Err(HostError::Input(format!(
            "the event is {} bytes, more than the 16 MiB accepted; sensu pipes one json event, check the handler's input",
            kept as u64 + rest
        )));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn reads_to_eof() {
        let got = read_event_from(&b"{\"a\":1}"[..]).unwrap();
        assert_eq!(got, b"{\"a\":1}");
    }

    #[test]
    fn too_large_is_an_input_error_and_drains_everything() {
        let big = vec![b' '; (MAX_EVENT_BYTES + 10) as usize];
        let mut cursor = std::io::Cursor::new(big);
        let err = read_event_from(&mut cursor).unwrap_err();
        assert!(matches!(err, HostError::Input(_)));
        assert_eq!(cursor.position(), MAX_EVENT_BYTES + 10);
        assert!(err.to_string().contains("16 MiB"));
    }
}
