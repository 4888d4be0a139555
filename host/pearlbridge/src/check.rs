//! `pearlbridge check`: validate every client at once — TOML errors with file, line and key;
//! missing secrets; unknown components or wrong sha256; each flow's own `check-config`
//! problems. Every problem is listed; none stops the others from being found.

use std::path::Path;

use pearlbridge_capabilities::clients::{ClientConfig, load_clients};

use crate::host::Host;

/// One problem found by `check`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckProblem {
    pub client: String,
    /// The file and, when known, the line: `clients/acme/client.toml:12`.
    pub location: String,
    /// The offending key, e.g. `flows.orders.sha256`.
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for CheckProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(k) => write!(f, "{}: {}: {}", self.location, k, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

/// Check every client under `clients_dir`; returns the valid clients and all problems.
pub async fn check_clients(
    host: &Host,
    clients_dir: &Path,
) -> (Vec<ClientConfig>, Vec<CheckProblem>) {
    let (clients, problems) = load_clients(clients_dir);
    let mut out: Vec<CheckProblem> = problems
        .into_iter()
        .map(|p| CheckProblem {
            client: p.client.clone(),
            location: match p.line {
                Some(l) => format!("{}:{l}", p.file.display()),
                None => p.file.display().to_string(),
            },
            key: p.key.clone(),
            message: p.message.clone(),
        })
        .collect();
    for c in &clients {
        out.extend(check_client(host, c).await);
    }
    (clients, out)
}

/// Secrets, pins and mappings of one parsed client.
pub async fn check_client(host: &Host, c: &ClientConfig) -> Vec<CheckProblem> {
    let mut out = vec![];
    let file = c.file.display().to_string();
    let problem = |key: Option<String>, message: String| CheckProblem {
        client: c.name.clone(),
        location: file.clone(),
        key,
        message,
    };
    for name in c.referenced_secrets() {
        if let Err(e) = host.secrets.resolve(&name) {
            out.push(problem(None, format!("secret `{name}`: {e}")));
        }
    }
    for (flow, pin) in &c.flows {
        let key = Some(format!("flows.{flow}"));
        let stored = match host
            .components
            .find(&pin.component_name, &pin.component_version)
        {
            Ok(Some(s)) => s,
            Ok(None) => {
                out.push(problem(
                    Some(format!("flows.{flow}.component")),
                    format!(
                        "component {}@{} is not in the component store; add it with `pearlbridge components add <file.wasm>`",
                        pin.component_name, pin.component_version
                    ),
                ));
                continue;
            }
            Err(e) => {
                out.push(problem(key, format!("{e:#}")));
                continue;
            }
        };
        if !stored.sha256.eq_ignore_ascii_case(&pin.sha256) {
            out.push(problem(
                Some(format!("flows.{flow}.sha256")),
                format!(
                    "pinned sha256 {} does not match the stored {}@{} (sha256 {})",
                    pin.sha256, pin.component_name, pin.component_version, stored.sha256
                ),
            ));
            continue;
        }
        let loaded = match host.runtime.load(&stored.path) {
            Ok(l) => l,
            Err(e) => {
                out.push(problem(key, e.to_string()));
                continue;
            }
        };
        let json = pin.mapping.to_string();
        match host.runtime.check_config(&loaded, &json).await {
            Ok(problems) => {
                for p in problems {
                    out.push(problem(
                        Some(format!("flows.{flow}.mapping.{}", p.path)),
                        p.message,
                    ));
                }
            }
            Err(e) => out.push(problem(key, format!("check-config failed: {e:#}"))),
        }
    }
    out
}
