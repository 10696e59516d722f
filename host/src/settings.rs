//! Settings discovery: Sensu's settings files (as sensu-plugin finds them), `REACTIO_*`
//! environment variables and flags gathered into the core's `ConfigInput`, then the
//! API key files read and the configuration loaded again with them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sensu_reactio_core::config::Origin;
use sensu_reactio_core::{Config, ConfigInput};
use serde_json::Value;

use crate::cli::{Cli, EngineChoice};
use crate::error::HostError;

/// Where Sensu Classic keeps its settings when no variable says otherwise.
pub const SENSU_ROOT: &str = "/etc/sensu";

/// A snapshot of the process environment (so discovery is testable).
#[derive(Clone, Debug, Default)]
pub struct EnvVars {
    vars: BTreeMap<String, String>,
    /// Variables the handler reads (`REACTIO_*`, `SENSU_*`, `SSL_CERT_FILE`) whose
    /// value is not UTF-8: a configuration error ([`load`]), never taken as unset.
    not_utf8: Vec<String>,
}

impl EnvVars {
    /// The current process environment (variables that are not UTF-8 are left out,
    /// and those the handler reads are remembered as such).
    pub fn from_process() -> EnvVars {
        let mut env = EnvVars::default();
        for (name, value) in std::env::vars_os() {
            let Ok(name) = name.into_string() else { continue };
            match value.into_string() {
                Ok(value) => {
                    env.vars.insert(name, value);
                }
                Err(_) if name.starts_with("REACTIO_") || name.starts_with("SENSU_") || name == "SSL_CERT_FILE" => {
                    env.not_utf8.push(name);
                }
                Err(_) => {}
            }
        }
        env
    }
    /// From explicit pairs (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> EnvVars {
        EnvVars { vars: pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(), not_utf8: Vec::new() }
    }
    /// An error naming a variable the handler reads whose value is not UTF-8 (it would
    /// otherwise count as unset: the settings file it names dropped, a default taken).
    pub fn refuse_not_utf8(&self) -> Result<(), HostError> {
        match self.not_utf8.first() {
            None => Ok(()),
            Some(name) => {
                // Only settings files are read from paths that need not be utf-8.
                let other =
                    if name == "SENSU_CONFIG_FILES" { " (a path that is not utf-8 can go to --config)" } else { "" };
                Err(HostError::Config(format!(
                    "environment variable {name} is not valid utf-8, so the handler cannot read it; give it a utf-8 value{other}"
                )))
            }
        }
    }
    /// One variable, when set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
    /// The `REACTIO_*` variables, for the core.
    pub fn reactio(&self) -> BTreeMap<String, String> {
        self.vars.iter().filter(|(k, _)| k.starts_with("REACTIO_")).map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// The outcome of discovery and loading.
#[derive(Debug)]
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// What it was loaded from (with key file contents: never print it).
    pub input: ConfigInput,
    /// The settings files read, in merge order.
    pub files: Vec<PathBuf>,
    /// How the files were found (for `check-config`).
    pub source: String,
    /// Warnings from discovery (the core's own are in `config.warnings`).
    pub warnings: Vec<String>,
    /// The engine chosen.
    pub engine: EngineChoice,
}

/// The settings files to read, in order, and how they were found. Listed files
/// must exist; the default `/etc/sensu/config.json` may be absent.
pub fn discover_files(
    explicit: &[PathBuf],
    env: &EnvVars,
    root: &Path,
    warnings: &mut Vec<String>,
) -> Result<(Vec<PathBuf>, String), HostError> {
    if !explicit.is_empty() {
        return Ok((explicit.to_vec(), "--config".into()));
    }
    if let Some(list_file) = env.get("SENSU_LOADED_TEMPFILE") {
        if Path::new(list_file).is_file() {
            let list = read_regular(Path::new(list_file)).map(|b| String::from_utf8_lossy(&b).into_owned()).map_err(|e| {
                HostError::Config(format!(
                    "could not read SENSU_LOADED_TEMPFILE {list_file}: {}; it should list the settings files the sensu server loaded",
                    io_reason(&e)
                ))
            })?;
            return Ok((split_list(&list), format!("SENSU_LOADED_TEMPFILE ({list_file})")));
        }
        warnings.push(format!(
            "SENSU_LOADED_TEMPFILE names {list_file}, which is not a file; looking further, as sensu-plugin does"
        ));
    }
    if let Some(list) = env.get("SENSU_CONFIG_FILES") {
        return Ok((split_list(list), "SENSU_CONFIG_FILES".into()));
    }
    let mut files = Vec::new();
    let main = root.join("config.json");
    if main.is_file() {
        files.push(main);
    }
    let mut found = Vec::new();
    collect_json(&root.join("conf.d"), &mut found)?;
    found.sort();
    files.extend(found);
    Ok((files, format!("{}/config.json and {}/conf.d/**/*.json", root.display(), root.display())))
}

fn split_list(list: &str) -> Vec<PathBuf> {
    list.split(':').map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).collect()
}

fn collect_json(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), HostError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(HostError::Config(format!("could not list settings directory {}: {e}", dir.display()))),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_json(&path, found)?;
        } else if path.extension().is_some_and(|x| x == "json") {
            found.push(path);
        }
    }
    Ok(())
}

/// A settings file's bytes without the UTF-8 byte order mark some editors write:
/// Sensu's own settings loader drops it, so a file the server loaded is read here too.
fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Read and deep-merge the settings files in order.
pub fn merge_files(files: &[PathBuf]) -> Result<Value, HostError> {
    let mut merged = Value::Object(serde_json::Map::new());
    for file in files {
        let text = read_regular(file).map_err(|e| {
            HostError::Config(format!(
                "could not read settings file {}: {}; fix or remove it from the list",
                file.display(),
                io_reason(&e)
            ))
        })?;
        let text = without_bom(&text);
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(HostError::Config(format!(
                "settings file {} is empty; a settings file holds one json object (`{{}}` at the least): write the settings into it, or remove it",
                file.display()
            )));
        }
        let value: Value = serde_json::from_slice(text).map_err(|e| {
            HostError::Config(format!(
                "settings file {} is not valid json: {e}; expected one json object",
                file.display()
            ))
        })?;
        if !value.is_object() {
            return Err(HostError::Config(format!(
                "settings file {} must hold a json object, got {}",
                file.display(),
                sensu_reactio_core::read::kind(&value)
            )));
        }
        deep_merge(&mut merged, value);
    }
    Ok(merged)
}

/// sensu-plugin's deep merge: objects merged, arrays concatenated (duplicates
/// dropped), anything else: the later value wins.
pub fn deep_merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in b {
                match a.get_mut(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        a.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for value in b {
                if !a.contains(&value) {
                    a.push(value);
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// Discover, merge, load; read the key files the configuration names; load again.
pub fn load(cli: &Cli, env: &EnvVars, root: &Path) -> Result<Loaded, HostError> {
    env.refuse_not_utf8()?;
    let mut warnings = Vec::new();
    let (files, source) = discover_files(&cli.config_files, env, root, &mut warnings)?;
    let settings = merge_files(&files)?;
    let mut input = ConfigInput {
        settings,
        env: env.reactio(),
        flags: cli.flags.clone(),
        handler_name: Some(cli.handler_name.clone()),
        key_files: BTreeMap::new(),
    };
    let mut config = Config::load(&input).map_err(|e| naming_files(e, &files))?;
    let key_files = config.key_files();
    if !key_files.is_empty() {
        read_key_files(&config, key_files, &mut input.key_files, &mut warnings).map_err(|message| {
            // Set in a settings file: that file is named too, as for any setting.
            let in_file = !matches!(key_file_origin(&config), Origin::Environment | Origin::Flag);
            let paths = if in_file { vec!["api_key_file".to_owned()] } else { Vec::new() };
            naming_files(sensu_reactio_core::ConfigError { message, paths }, &files)
        })?;
        config = Config::load(&input).map_err(|e| naming_files(e, &files))?;
    }
    warnings.extend(deadline_past_timeout(&input.settings, &cli.handler_name, config.host.deadline_ms));
    let engine = choose_engine(&config)?;
    Ok(Loaded { config, input, files, source, warnings, engine })
}

/// Read the key files `config` names into `contents`. One that cannot be read or is
/// empty is a configuration error (its message) when the default connection uses it; when only
/// profiles do, a warning naming them: their events fail (the core says so, and they
/// are dead-lettered), and one team's key file must not stop the others.
fn read_key_files(
    config: &Config,
    paths: Vec<String>,
    contents: &mut BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    for path in paths {
        let profiles_only = config.connection.api_key_file.as_deref() != Some(path.as_str());
        let setting = if profiles_only { "its `api_key_file`" } else { key_file_setting(key_file_origin(config)) };
        // An empty file (a rotation half done) is as unusable as a missing one; the
        // default connection's is refused by the core, which says so.
        let read = read_key_file(&path, setting).and_then(|content| match profiles_only && content.trim().is_empty() {
            true => Err(format!("the api key file {path} is empty; write the api key into it")),
            false => Ok(content),
        });
        match read {
            Ok(content) => {
                warnings.extend(key_file_exposed(&path));
                contents.insert(path, content);
            }
            Err(reason) if profiles_only => {
                let profiles: Vec<String> = (config.profiles.iter())
                    .filter(|(_, p)| p.connection.api_key_file.as_deref() == Some(path.as_str()))
                    .map(|(name, _)| format!("`{name}`"))
                    .collect();
                warnings.push(format!(
                    "profile {}: {reason}; its events are kept in the dead-letter folder until it is fixed (`replay --dead` then sends them), the others go out",
                    profiles.join(", ")
                ));
            }
            Err(reason) => {
                let source = sensu_reactio_core::config::origin_label("api_key_file", key_file_origin(config));
                return Err(format!("{source}: {reason}"));
            }
        }
    }
    Ok(())
}

/// Where the default connection's `api_key_file` was set (a settings file when no
/// origin is recorded).
fn key_file_origin(config: &Config) -> Origin {
    config.origins.get("api_key_file").copied().unwrap_or(Origin::SettingsFile)
}

/// The setting to point at another file, in the words of where it was set.
fn key_file_setting(origin: Origin) -> &'static str {
    match origin {
        Origin::Environment => "REACTIO_API_KEY_FILE",
        Origin::Flag => "--api-key-file",
        _ => "`api_key_file`",
    }
}

/// A configuration error, naming the settings files that set what it is about (one of
/// many files in `conf.d`, say): "/etc/sensu/conf.d/04.json: unknown key ...". Of the
/// files that set a value, the last wins the merge, so it alone is named; arrays are
/// concatenated, so every file that adds to one is.
fn naming_files(error: sensu_reactio_core::ConfigError, files: &[PathBuf]) -> HostError {
    let documents: Vec<(&PathBuf, Value)> = files
        .iter()
        .filter_map(|f| Some((f, serde_json::from_slice::<Value>(without_bom(&read_regular(f).ok()?)).ok()?)))
        .collect();
    let mut named: Vec<String> = Vec::new();
    for path in &error.paths {
        let setting = |document: &Value| {
            let scope = document.get("reactio")?;
            match path.as_str() {
                "" => Some(scope.clone()),
                path => path.split('.').try_fold(scope, |at, key| at.get(key)).filter(|v| !v.is_null()).cloned(),
            }
        };
        let setters: Vec<(&PathBuf, Value)> = documents.iter().filter_map(|(f, d)| Some((*f, setting(d)?))).collect();
        let take = match setters.last() {
            Some((_, Value::Array(_))) => setters.len(),
            _ => 1,
        };
        for (file, _) in setters.iter().rev().take(take).rev() {
            let file = file.display().to_string();
            if !named.contains(&file) {
                named.push(file);
            }
        }
    }
    if named.is_empty() {
        return HostError::Config(error.message);
    }
    HostError::Config(format!("{}: {}", named.join(", "), error.message))
}

/// Where the settings put `spool_dir`, read leniently when they do not load (an unknown
/// key, a bad value, a missing key file, another file of the list missing or not json:
/// a check file broken while the Sensu server runs): the event of a configuration error
/// is then still kept where the operator watches it and `replay --dead` looks. The
/// files that can be read count, the last one naming it wins (as in the merge). `None`
/// when none names an absolute `spool_dir`.
pub fn salvage_spool_dir(cli: &Cli, env: &EnvVars, root: &Path) -> Option<String> {
    let (files, _) = discover_files(&cli.config_files, env, root, &mut Vec::new()).ok()?;
    let dir = files.iter().rev().find_map(|file| {
        let settings: Value = serde_json::from_slice(without_bom(&read_regular(file).ok()?)).ok()?;
        settings.get("reactio")?.get("spool_dir")?.as_str().map(str::to_owned)
    })?;
    Path::new(&dir).is_absolute().then_some(dir)
}

/// A warning when the run's deadline leaves less than a second before Sensu Classic's
/// handler `timeout` (10 s when the definition sets none): Sensu kills the handler
/// then, before it can spool an event it could not deliver.
fn deadline_past_timeout(settings: &Value, handler: &str, deadline_ms: u64) -> Option<String> {
    let definition = settings.get("handlers")?.get(handler)?.as_object()?;
    let timeout = definition.get("timeout").map_or(Some(10.0), Value::as_f64)?;
    let deadline = deadline_ms as f64 / 1000.0;
    (deadline + 1.0 > timeout).then(|| {
        format!(
            "`deadline` ({deadline} s) leaves less than a second before the handler's sensu timeout ({timeout} s, `handlers.{handler}.timeout`{}): sensu kills the handler then, before it can spool an event it could not deliver; set `deadline` to at most {} s, or raise the timeout",
            if definition.contains_key("timeout") { "" } else { ", sensu's default" },
            (timeout - 2.0).max(1.0)
        )
    })
}

/// The most a settings file, a key file or a `ca_file` may hold: far above any real
/// one, and a run never reads without end (`/dev/urandom` named by mistake).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// A regular file's bytes, at most [`MAX_FILE_BYTES`]. A fifo, a device or a socket is
/// refused before it is opened: reading one waits for a writer or never ends, past any
/// deadline, and Sensu then kills the run with its event.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    read_regular_at_most(path, MAX_FILE_BYTES)
}

/// [`read_regular`] with another limit than [`MAX_FILE_BYTES`]: `max` bytes.
pub fn read_regular_at_most(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let kind = std::fs::metadata(path)?.file_type();
    if kind.is_dir() {
        return Err(std::io::Error::from(std::io::ErrorKind::IsADirectory));
    }
    if !kind.is_file() {
        return Err(std::io::Error::other("it is not a regular file (a fifo, a device or a socket)"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        let limit = if max >= 1 << 20 { format!("{} MiB", max >> 20) } else { format!("{max} bytes") };
        return Err(std::io::Error::other(format!("it holds more than {limit}")));
    }
    Ok(bytes)
}

/// `path` opened with `options`, with the open file's metadata, if it is a regular file
/// named there itself (not through a symlink) and the file opened is the one looked at
/// (the same device and inode: not swapped in between). What a caller writes into, or
/// maps, must be the file it checked, not another one a link leads to.
pub fn open_regular_as_seen(path: &Path, options: &std::fs::OpenOptions) -> Option<(std::fs::File, std::fs::Metadata)> {
    use std::os::unix::fs::MetadataExt;
    let seen = std::fs::symlink_metadata(path).ok()?;
    if !seen.file_type().is_file() {
        return None;
    }
    let file = options.open(path).ok()?;
    let opened = file.metadata().ok()?;
    ((opened.dev(), opened.ino()) == (seen.dev(), seen.ino())).then_some((file, opened))
}

/// Why a file could not be read, in words (not the kind's Display: "entity not found").
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        _ => e.to_string(),
    }
}

/// A warning when a key file can be read by users other than its owner.
fn key_file_exposed(path: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "api_key_file {path} can be read by other users (mode {mode:04o}): `chmod 0400` it, owned by the user sensu runs handlers as"
        )
    })
}

/// The api key file's content, or why it cannot be read and what to do (`setting`:
/// what names the file, for pointing it at another).
fn read_key_file(path: &str, setting: &str) -> Result<String, String> {
    let bytes = read_regular(Path::new(path)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "the api key file {path} does not exist; create it holding only the api key, readable by the user sensu runs handlers as, or point {setting} at the right file"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "the api key file {path} cannot be read (permission denied); make it readable by the user sensu runs handlers as (owned by it, mode 0400)"
        ),
        _ => format!(
            "could not read the api key file {path}: {}; point {setting} at a regular file that holds only the api key",
            io_reason(&e)
        ),
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("the api key file {path} is not utf-8 text; it should hold only the api key"))?;
    // A byte order mark some editors write is not part of the key.
    Ok(text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text))
}

fn choose_engine(config: &Config) -> Result<EngineChoice, HostError> {
    EngineChoice::parse(&config.host.engine)
        .ok_or_else(|| HostError::Config(format!("engine must be `native` or `wasm`, got `{}`", config.host.engine)))
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
