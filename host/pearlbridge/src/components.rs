//! The component store: built flow components kept under `name@version` (from their own
//! `describe()`) with their sha256, in `<data>/components/<name>/<version>/`, where clients
//! pin them. A version is immutable: storing different bytes under a stored `name@version`
//! is refused. Versions stay side by side until no client pins them.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

use crate::runtime::Runtime;

/// One stored component version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredComponent {
    pub name: String,
    pub version: String,
    /// Lower-case hex sha256 of the `.wasm` bytes.
    pub sha256: String,
    /// Path of the stored `.wasm` file.
    pub path: PathBuf,
}

impl StoredComponent {
    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// The store folder `<data>/components`.
#[derive(Debug, Clone)]
pub struct ComponentStore {
    root: PathBuf,
}

/// A component name or version must be a plain token (no path separators).
fn valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
        && s != "."
        && s != ".."
}

impl ComponentStore {
    pub fn open(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("components"),
        }
    }

    /// Store `file`: load it (which checks it is a component of the flow world), call its
    /// `describe()` for name and version, and copy it to `<name>/<version>/<name>.wasm`.
    /// Adding the same bytes again is a no-op; different bytes under a stored version are
    /// refused.
    pub async fn add(&self, runtime: &Runtime, file: &Path) -> anyhow::Result<StoredComponent> {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let loaded = runtime.load_bytes(&file.display().to_string(), &bytes)?;
        let info = runtime.describe(&loaded).await?;
        if !valid_token(&info.name) || !valid_token(&info.version) {
            bail!(
                "{}: describe() gave name `{}` and version `{}`; both must be plain tokens (letters, digits, - _ . +)",
                file.display(),
                info.name,
                info.version
            );
        }
        let dir = self.root.join(&info.name).join(&info.version);
        let target = dir.join(format!("{}.wasm", info.name));
        if let Some(existing) = self.find(&info.name, &info.version)? {
            if existing.sha256 == loaded.sha256 {
                return Ok(existing);
            }
            bail!(
                "{}@{} is already stored with sha256 {}; this file's sha256 is {}. A stored version never changes: bump the component's version",
                info.name,
                info.version,
                existing.sha256,
                loaded.sha256
            );
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = dir.join(".incoming.wasm");
        std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::write(dir.join("sha256"), format!("{}\n", loaded.sha256))?;
        std::fs::rename(&tmp, &target)?;
        Ok(StoredComponent {
            name: info.name,
            version: info.version,
            sha256: loaded.sha256.clone(),
            path: target,
        })
    }

    /// The stored `name@version`, if any. Errors when its file no longer matches its sha256.
    pub fn find(&self, name: &str, version: &str) -> anyhow::Result<Option<StoredComponent>> {
        if !valid_token(name) || !valid_token(version) {
            return Ok(None);
        }
        let dir = self.root.join(name).join(version);
        let path = dir.join(format!("{name}.wasm"));
        if !path.exists() {
            return Ok(None);
        }
        let recorded = std::fs::read_to_string(dir.join("sha256"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if recorded != actual {
            bail!(
                "{name}@{version}: stored file {} has sha256 {actual} but was stored as {recorded}",
                path.display()
            );
        }
        Ok(Some(StoredComponent {
            name: name.into(),
            version: version.into(),
            sha256: actual,
            path,
        }))
    }

    /// Every stored version, sorted by name then version.
    pub fn list(&self) -> anyhow::Result<Vec<StoredComponent>> {
        let mut out = vec![];
        let Ok(names) = std::fs::read_dir(&self.root) else {
            return Ok(out);
        };
        for name in names.flatten() {
            let name = name.file_name().to_string_lossy().to_string();
            let Ok(versions) = std::fs::read_dir(self.root.join(&name)) else {
                continue;
            };
            for v in versions.flatten() {
                let version = v.file_name().to_string_lossy().to_string();
                if let Some(c) = self.find(&name, &version)? {
                    out.push(c);
                }
            }
        }
        out.sort_by(|a, b| {
            (a.name.as_str(), version_key(&a.version))
                .cmp(&(b.name.as_str(), version_key(&b.version)))
        });
        Ok(out)
    }

    /// Remove `name@version`; refused while any client pins it (`pinned_by` names them).
    pub fn remove(&self, name: &str, version: &str, pinned_by: &[String]) -> anyhow::Result<()> {
        if !pinned_by.is_empty() {
            bail!(
                "{name}@{version} is pinned by client(s) {}; change their pins first",
                pinned_by.join(", ")
            );
        }
        let Some(c) = self.find(name, version)? else {
            bail!("{name}@{version} is not stored")
        };
        let dir = c.path.parent().map(Path::to_path_buf).unwrap_or_default();
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        Ok(())
    }
}

/// Sort key for semver-like versions: numeric parts compare as numbers.
fn version_key(v: &str) -> Vec<(u64, String)> {
    v.split(['.', '-', '+'])
        .map(|p| (p.parse::<u64>().unwrap_or(u64::MAX), p.to_string()))
        .collect()
}
