//! The host's one error type, the exit codes of decisions.md ("Host defaults"), and
//! the advice for a full file table that its machine errors and warnings share.

/// Exit: handled or skipped.
pub const EXIT_OK: u8 = 0;
/// Exit (`EX_DATAERR`): the event is not one we understand, or is too large.
pub const EXIT_INPUT: u8 = 65;
/// Exit (`EX_IOERR`): delivery failed and the event could not be spooled either.
pub const EXIT_NOT_SPOOLED: u8 = 74;
/// Exit (`EX_TEMPFAIL`): delivery failed (the server, the network, or the handler itself,
/// such as a broken wasm module); the event waits in the spool (or dead-letter folder).
pub const EXIT_SPOOLED: u8 = 75;
/// Exit (`EX_CONFIG`): the configuration is wrong (settings, key, plain http, auth).
pub const EXIT_CONFIG: u8 = 78;

/// Why a run of the handler stopped. Messages are lowercase, say what was wrong and
/// how to fix it, and never contain the API key.
#[derive(Debug)]
pub enum HostError {
    /// The event (stdin) was unusable: exit 65.
    Input(String),
    /// The settings (files, environment, flags, key files) are wrong: exit 78.
    Config(String),
    /// The spool could not be read or written: exit 74.
    Spool(String),
    /// The handler itself failed (engine, I/O on stdout): exit 75, the event spooled
    /// (decisions.md has no code of its own for it; the line says `internal error`).
    Internal(String),
    /// The machine could not give the run what it needs (file descriptors, memory):
    /// exit 75, the event spooled. Not the event's fault nor the engine's, so a spooled
    /// event it stops is never dead-lettered for it.
    Machine(String),
}

impl HostError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            HostError::Input(_) => EXIT_INPUT,
            HostError::Config(_) => EXIT_CONFIG,
            HostError::Spool(_) => EXIT_NOT_SPOOLED,
            HostError::Internal(_) | HostError::Machine(_) => EXIT_SPOOLED,
        }
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Input(m) => write!(f, "bad event: {m}"),
            HostError::Config(m) => write!(f, "configuration error: {m}"),
            HostError::Spool(m) => write!(f, "spool error: {m}"),
            HostError::Internal(m) => write!(f, "internal error: {m}"),
            HostError::Machine(m) => write!(f, "machine error: {m}"),
        }
    }
}

impl std::error::Error for HostError {}

/// What to do when `error` says the process's or the system's file table is full
/// (EMFILE, ENFILE); `None` for any other error. The OS error is looked for in the
/// errors `error` wraps too (one said with its path).
pub fn out_of_files_fix(error: &std::io::Error) -> Option<&'static str> {
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    let mut code = error.raw_os_error();
    let mut inner: Option<&(dyn std::error::Error + 'static)> = error.get_ref().map(|e| e as _);
    while let (None, Some(e)) = (code, inner) {
        code = e.downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error);
        inner = e.source();
    }
    matches!(code, Some(EMFILE | ENFILE))
        .then_some("raise the sensu user's open-file limit (LimitNOFILE), or find what holds the files open")
}
