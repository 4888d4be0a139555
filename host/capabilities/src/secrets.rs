//! Secrets: credentials resolved by name from providers (the environment, or a TOML file
//! readable only by its owner), wrapped in [`Secret`] so they cannot be printed, logged or
//! serialised by accident. `client.toml` names secrets (`token_secret = "acme_bc_token"`);
//! values never appear in configuration, state, exceptions, audit lines or error messages.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

/// A credential. `Debug` and `Display` print `[redacted]`; it has no `Serialize`; the memory
/// is zeroed on drop. [`Secret::expose`] is the only way to the value. Making one registers
/// its value with [`crate::redact`], so it is scrubbed from every text the host lets out.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::register(&value);
        Secret(SecretString::from(value))
    }

    /// Length of the value in characters (checks; never the value itself).
    pub fn chars(&self) -> usize {
        self.0.expose_secret().chars().count()
    }

    /// The value, for the one place that puts it in a request header.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a secret could not be had. No variant holds or prints a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No provider has a secret of this name.
    #[error("secret {name:?} not found (looked in: {})", looked_in.join("; "))]
    Missing {
        name: String,
        looked_in: Vec<String>,
    },
    /// The provider has the name but its value is unusable (empty, not UTF-8).
    #[error("secret {name:?} in {provider}: {message}")]
    Invalid {
        name: String,
        provider: String,
        message: String,
    },
    /// The secrets file is readable or writable by group or others.
    #[error(
        "secrets file {} has mode {mode:04o}: group and others must have no access; \
         run `chmod 600 {}`",
        file.display(),
        file.display()
    )]
    Permissions { file: PathBuf, mode: u32 },
    /// The secrets file could not be read.
    #[error("secrets file {}: {message}", file.display())]
    Io { file: PathBuf, message: String },
    /// The secrets file is not `name = "value"` lines. Names the line (and key when known),
    /// never the value.
    #[error("secrets file {}:{line}: {message}", file.display())]
    Parse {
        file: PathBuf,
        line: usize,
        message: String,
    },
}

/// A source of secrets by name.
pub trait SecretProvider: Send + Sync {
    /// The secret called `name`, `Ok(None)` when this provider does not have it.
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError>;
    /// Where this provider looks, for error messages, e.g. `environment (PEARLBRIDGE_SECRET_*)`.
    fn describe(&self) -> String;
    /// Where this provider would hold `name` (for "not found" messages); by default
    /// [`SecretProvider::describe`].
    fn describe_for(&self, name: &str) -> String {
        let _ = name;
        self.describe()
    }
}

/// Secrets from environment variables: `acme_bc_token` → `PEARLBRIDGE_SECRET_ACME_BC_TOKEN`.
#[derive(Debug, Clone, Default)]
pub struct EnvSecrets;

impl EnvSecrets {
    /// The variable holding secret `name`: `PEARLBRIDGE_SECRET_` + the name upper-cased, with
    /// every character other than ASCII letters and digits replaced by `_`.
    pub fn var_name(name: &str) -> String {
        let mut var = String::from("PEARLBRIDGE_SECRET_");
        var.extend(name.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        }));
        var
    }
}

impl SecretProvider for EnvSecrets {
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        let var = Self::var_name(name);
        match std::env::var(&var) {
            Ok(v) if v.is_empty() => Err(SecretError::Invalid {
                name: name.into(),
                provider: format!("environment variable {var}"),
                message: "is set but empty".into(),
            }),
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::Invalid {
                name: name.into(),
                provider: format!("environment variable {var}"),
                message: "is not valid UTF-8".into(),
            }),
        }
    }

    fn describe(&self) -> String {
        "environment (PEARLBRIDGE_SECRET_<NAME>)".into()
    }

    fn describe_for(&self, name: &str) -> String {
        format!("environment variable {}", Self::var_name(name))
    }
}

/// Secrets from a TOML file of `name = "value"` lines, read once at [`FileSecrets::open`].
pub struct FileSecrets {
    file: PathBuf,
    values: BTreeMap<String, Secret>,
}

impl fmt::Debug for FileSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSecrets")
            .field("file", &self.file)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl FileSecrets {
    /// Read the secrets file at `path`. Refused ([`SecretError::Permissions`]) when group or
    /// others have any access (`mode & 0o077 != 0`, Unix); [`SecretError::Parse`] names the
    /// line and key of the first problem, never the value.
    pub fn open(path: &Path) -> Result<Self, SecretError> {
        let file = path.to_path_buf();
        let io = |e: std::io::Error| SecretError::Io {
            file: file.clone(),
            message: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(SecretError::Permissions { file, mode });
            }
        }
        if !meta.is_file() {
            return Err(SecretError::Io {
                file,
                message: "is not a regular file".into(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let values = parse_secrets(&file, &text)?;
        Ok(FileSecrets { file, values })
    }

    /// The names this file holds, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

impl SecretProvider for FileSecrets {
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        Ok(self.values.get(name).cloned())
    }

    fn describe(&self) -> String {
        format!("file {}", self.file.display())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// The key at the start of `line` when it looks like `key = ...`, for error messages.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = l.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)))
    .then(|| key.to_string())
}

fn parse_secrets(file: &Path, text: &str) -> Result<BTreeMap<String, Secret>, SecretError> {
    use toml::de::{DeTable, DeValue};
    let parse_err = |line: usize, message: String| SecretError::Parse {
        file: file.to_path_buf(),
        line,
        message,
    };
    // The parser's own message may quote the offending text (a value), so only the line and
    // the key are reported.
    let table = DeTable::parse(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        let message = match key_on_line(text, line) {
            Some(key) => {
                format!("key `{key}`: not valid TOML; expected name = \"value\" (value not shown)")
            }
            None => "not valid TOML; expected name = \"value\" lines (value not shown)".to_string(),
        };
        parse_err(line, message)
    })?;
    let mut values = BTreeMap::new();
    for (key, value) in table.into_inner() {
        let line = line_of(text, key.span().start);
        let name = key.into_inner().into_owned();
        match value.into_inner() {
            DeValue::String(s) if s.is_empty() => {
                return Err(parse_err(line, format!("key `{name}`: value is empty")));
            }
            DeValue::String(s) => {
                values.insert(name, Secret::new(s.into_owned()));
            }
            other => {
                return Err(parse_err(
                    line,
                    format!(
                        "key `{name}`: expected a string value, found {}",
                        other.type_str()
                    ),
                ));
            }
        }
    }
    Ok(values)
}

/// The host's secret providers, asked in order.
#[derive(Default)]
pub struct Secrets {
    providers: Vec<Box<dyn SecretProvider>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.providers.iter().map(|p| p.describe()))
            .finish()
    }
}

impl Secrets {
    pub fn new(providers: Vec<Box<dyn SecretProvider>>) -> Self {
        Secrets { providers }
    }

    /// Add a provider, asked after the existing ones.
    pub fn push(&mut self, provider: impl SecretProvider + 'static) -> &mut Self {
        self.providers.push(Box::new(provider));
        self
    }

    /// The secret `name` from the first provider that has it. Errors:
    /// [`SecretError::Missing`] listing every provider asked; a provider's own error stops
    /// the search; [`SecretError::Invalid`] for a value shorter than
    /// [`crate::redact::MIN_SECRET_CHARS`] characters.
    pub fn resolve(&self, name: &str) -> Result<Secret, SecretError> {
        for p in &self.providers {
            if let Some(secret) = p.get(name)? {
                if secret.chars() < crate::redact::MIN_SECRET_CHARS {
                    return Err(SecretError::Invalid {
                        name: name.to_string(),
                        provider: p.describe_for(name),
                        message: format!(
                            "is {} characters long; a credential needs at least {} so that it \
                             can be told apart from ordinary text and scrubbed from it",
                            secret.chars(),
                            crate::redact::MIN_SECRET_CHARS
                        ),
                    });
                }
                return Ok(secret);
            }
        }
        Err(SecretError::Missing {
            name: name.to_string(),
            looked_in: self
                .providers
                .iter()
                .map(|p| p.describe_for(name))
                .collect(),
        })
    }

    /// Every name in `names` that does not resolve, with its error (deploy-time check).
    pub fn check<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<SecretError> {
        names
            .into_iter()
            .filter_map(|n| self.resolve(n).err())
            .collect()
    }
}

/// Secrets held in memory, e.g. the sandbox's generated tokens in `pearlbridge demo`.
/// Debug output lists names only.
#[derive(Default)]
pub struct MemorySecrets {
    values: std::collections::BTreeMap<String, Secret>,
}

impl fmt::Debug for MemorySecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySecrets")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl MemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a secret.
    pub fn insert(&mut self, name: impl Into<String>, value: Secret) -> &mut Self {
        self.values.insert(name.into(), value);
        self
    }
}

impl SecretProvider for MemorySecrets {
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        Ok(self.values.get(name).cloned())
    }

    fn describe(&self) -> String {
        "secrets held in memory".into()
    }
}
