//! Per-client configuration: `clients/<client>/client.toml` — the client's connections
//! (BigCommerce store, Brightpearl account; credentials by secret *name*) and its flows
//! (component pin by name@version and sha256, schedule, free-form mapping handed to the flow
//! as JSON through the WIT `config.get` import).
//!
//! Loading collects every problem of every client (file, line, dotted key, message) instead
//! of stopping at the first; unknown keys are problems except inside `mapping`.
//!
//! ```toml
//! [connections.bigcommerce]
//! store_hash = "abc123"
//! api_base = "https://api.bigcommerce.com"      # default
//! token_secret = "acme_bc_token"                 # X-Auth-Token [doc] bigcommerce-api.md
//! [connections.brightpearl]
//! account = "acme"
//! api_base = "https://euw1.brightpearlconnect.com"
//! auth = "system"                                # or "oauth" (needs dev_ref) [doc] brightpearl-api.md
//! app_ref = "acme_pearlbridge"
//! token_secret = "acme_bp_token"
//! [flows.orders]
//! component = "orders@1.0.0"
//! sha256 = "<64 hex>"
//! schedule = "5m"                               # or cron, UTC: "*/15 * * * *"
//! [flows.orders.mapping]
//! statuses = [11]
//! [webhooks]                                     # optional: `pearlbridge serve` receives them
//! public_url = "https://hooks.acme.example"      # where serve is reached from the platforms
//! bigcommerce_secret = "acme_bc_webhook"         # sent back in the hook's custom header
//! brightpearl_secret = "acme_bp_webhook"         # the token in the registered URL
//! [alerts]                                       # optional: `pearlbridge serve` posts new
//! finance = "acme_finance_alerts_url"            # exceptions to each team's chat webhook
//! operations = "acme_ops_alerts_url"             # (secret *names*: the URL is a credential)
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The configuration file inside each client folder.
pub const CLIENT_FILE: &str = "client.toml";
/// BigCommerce API base used when `api_base` is not set [doc] bigcommerce-api.md.
pub const BIGCOMMERCE_API_BASE: &str = "https://api.bigcommerce.com";

/// One client, loaded from `<root>/<name>/client.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The folder name, e.g. `acme`; also the state namespace's client.
    pub name: String,
    /// Path of the `client.toml` it came from.
    pub file: PathBuf,
    pub bigcommerce: Option<BigCommerceConnection>,
    pub brightpearl: Option<BrightpearlConnection>,
    /// Flows by name (the `[flows.<name>]` key, e.g. `orders`).
    pub flows: BTreeMap<String, FlowPin>,
    /// `[webhooks]`: how `pearlbridge serve` receives and verifies this client's webhooks;
    /// `None` when the section is absent (schedules only).
    pub webhooks: Option<WebhooksConfig>,
    /// `[alerts]`: per owning team, the *name* of the secret holding the chat webhook URL
    /// that `pearlbridge serve` posts the team's new exceptions to. Empty: no alerts.
    pub alerts: BTreeMap<crate::exceptions::Team, String>,
}

/// The header BigCommerce sends back with every callback of a hook registered by
/// `pearlbridge hooks register` (a hook's custom `headers` [doc] bigcommerce-api.md §10); its
/// value is the client's `webhooks.bigcommerce_secret`.
pub const BIGCOMMERCE_WEBHOOK_HEADER: &str = "x-pearlbridge-webhook-secret";

/// `[webhooks]` of a client file. Each secret is a *name* resolved by the secret store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhooksConfig {
    /// Base URL at which the platforms reach `pearlbridge serve` (https in production), e.g.
    /// `https://hooks.acme.example`; hooks are registered at
    /// `{public_url}/webhooks/bigcommerce/{client}` and
    /// `{public_url}/webhooks/brightpearl/{client}/{token}`. `None`: hooks cannot be
    /// registered from this file, but callbacks are still received.
    pub public_url: Option<String>,
    /// Secret name of the value BigCommerce sends in [`BIGCOMMERCE_WEBHOOK_HEADER`]; `None`:
    /// BigCommerce webhooks of this client are refused (404).
    pub bigcommerce_secret: Option<String>,
    /// Secret name of the token in the Brightpearl callback URL; `None`: Brightpearl webhooks
    /// of this client are refused (404).
    pub brightpearl_secret: Option<String>,
}

impl ClientConfig {
    /// Every secret name the connections refer to, sorted, without repeats.
    pub fn referenced_secrets(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        if let Some(bc) = &self.bigcommerce {
            names.insert(bc.token_secret.clone());
        }
        if let Some(bp) = &self.brightpearl {
            names.insert(bp.token_secret.clone());
        }
        if let Some(w) = &self.webhooks {
            names.extend(w.bigcommerce_secret.iter().cloned());
            names.extend(w.brightpearl_secret.iter().cloned());
        }
        names.extend(self.alerts.values().cloned());
        names.into_iter().collect()
    }
}

/// `[connections.bigcommerce]`: requests go to `{api_base}/stores/{store_hash}{path}` with
/// `X-Auth-Token: <secret>` [doc] bigcommerce-api.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigCommerceConnection {
    /// Store hash, lower-case letters and digits, e.g. `abc123`.
    pub store_hash: String,
    /// Base URL without trailing `/`; [`BIGCOMMERCE_API_BASE`] by default. `http://` only for
    /// loopback hosts (the sandbox).
    pub api_base: String,
    /// Name of the secret holding the access token.
    pub token_secret: String,
}

/// `[connections.brightpearl]`: requests go to `{api_base}/public-api/{account}{path}`
/// [doc] brightpearl-api.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrightpearlConnection {
    /// Account code, e.g. `acme`.
    pub account: String,
    /// The account's datacentre base URL without trailing `/`, e.g.
    /// `https://euw1.brightpearlconnect.com`. `http://` only for loopback hosts.
    pub api_base: String,
    pub auth: BrightpearlAuth,
    /// `brightpearl-app-ref` header value.
    pub app_ref: String,
    /// Name of the secret holding the account token (system) or the bearer token (oauth).
    pub token_secret: String,
}

/// How the host authenticates to Brightpearl [doc] brightpearl-api.md "Authentication".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrightpearlAuth {
    /// Private system app: `brightpearl-app-ref` + `brightpearl-account-token`.
    System,
    /// OAuth instance app: `Authorization: Bearer`, `brightpearl-dev-ref`, `brightpearl-app-ref`.
    OAuth { dev_ref: String },
}

/// `[flows.<name>]`: which component runs this flow for this client, and its mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowPin {
    /// Component name in the component store, e.g. `orders`.
    pub component_name: String,
    /// Component semver, e.g. `1.0.0`.
    pub component_version: String,
    /// sha256 of the component's `.wasm`, 64 lower-case hex characters.
    pub sha256: String,
    /// Interval between scheduled runs (`schedule = "5m"`); `None` with no `cron` uses the
    /// component's default schedule.
    pub schedule: Option<Duration>,
    /// A cron schedule instead (`schedule = "*/15 * * * *"`, five fields, UTC; see
    /// [`crate::cron`]); then `schedule` is `None`.
    pub cron: Option<crate::cron::Cron>,
    /// The `[flows.<name>.mapping]` table as a JSON object (`{}` when absent). TOML dates and
    /// times become strings in their TOML form.
    pub mapping: serde_json::Value,
}

impl FlowPin {
    /// `name@version`, as written in `component`.
    pub fn component_ref(&self) -> String {
        format!("{}@{}", self.component_name, self.component_version)
    }
}

/// One problem in a client's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Client folder name (empty when the clients folder itself is the problem).
    pub client: String,
    pub file: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// Dotted key, e.g. `flows.orders.sha256`.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    /// `file:line: key: message`, leaving out the parts that are unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Load every client folder under `root` (sorted by name; folders starting with `.` are
/// skipped). Returns the clients that loaded cleanly and every problem of the others.
pub fn load_clients(root: &Path) -> (Vec<ClientConfig>, Vec<Problem>) {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) => {
            let problem = Problem {
                client: String::new(),
                file: root.to_path_buf(),
                line: None,
                key: None,
                message: format!("cannot read the clients folder: {e}"),
            };
            return (Vec::new(), vec![problem]);
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let mut clients = Vec::new();
    let mut problems = Vec::new();
    for dir in dirs {
        match load_client(&dir) {
            Ok(c) => clients.push(c),
            Err(p) => problems.extend(p),
        }
    }
    (clients, problems)
}

/// Load `<dir>/client.toml`; the client's name is the folder name. `Err` lists every problem.
pub fn load_client(dir: &Path) -> Result<ClientConfig, Vec<Problem>> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = dir.join(CLIENT_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            return Err(vec![Problem {
                client: name,
                file,
                line: None,
                key: None,
                message: format!("cannot read: {e}"),
            }]);
        }
    };
    parse_client(&name, &file, &text)
}

/// Parse the text of a `client.toml` for client `name` (folder name); `file` is used in
/// problems only.
pub fn parse_client(name: &str, file: &Path, text: &str) -> Result<ClientConfig, Vec<Problem>> {
    let mut cx = Cx {
        client: name,
        file,
        text,
        problems: Vec::new(),
    };
    if !is_word(name, false) {
        cx.problems.push(Problem {
            client: name.to_string(),
            file: file.to_path_buf(),
            line: None,
            key: None,
            message: format!(
                "client folder name {name:?} must be lower-case letters, digits, `-` or `_`, \
                 starting with a letter or digit"
            ),
        });
    }
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let line = e.span().map(|s| line_of(text, s.start));
            let key = line.and_then(|l| key_on_line(text, l));
            cx.problems.push(Problem {
                client: name.to_string(),
                file: file.to_path_buf(),
                line,
                key,
                message: format!("TOML syntax: {}", e.message().trim().replace('\n', "; ")),
            });
        }
        return Err(cx.problems);
    }
    let doc = doc.into_inner();
    let mut config = ClientConfig {
        name: name.to_string(),
        file: file.to_path_buf(),
        bigcommerce: None,
        brightpearl: None,
        flows: BTreeMap::new(),
        webhooks: None,
        alerts: BTreeMap::new(),
    };
    for (key, value) in doc.iter() {
        match key.get_ref().as_ref() {
            "connections" => {
                let Some(table) = cx.table(value, "connections") else {
                    continue;
                };
                for (ck, cv) in table.iter() {
                    let path = format!("connections.{}", ck.get_ref());
                    match ck.get_ref().as_ref() {
                        "bigcommerce" => {
                            if let Some(t) = cx.table(cv, &path) {
                                config.bigcommerce = cx.bigcommerce(t, &path, ck.span());
                            }
                        }
                        "brightpearl" => {
                            if let Some(t) = cx.table(cv, &path) {
                                config.brightpearl = cx.brightpearl(t, &path, ck.span());
                            }
                        }
                        _ => cx.at(
                            ck.span(),
                            &path,
                            "unknown connection; expected bigcommerce or brightpearl".into(),
                        ),
                    }
                }
            }
            "flows" => {
                let Some(table) = cx.table(value, "flows") else {
                    continue;
                };
                for (fk, fv) in table.iter() {
                    let flow = fk.get_ref().to_string();
                    let path = format!("flows.{flow}");
                    if !is_word(&flow, true) {
                        cx.at(
                            fk.span(),
                            &path,
                            "flow name must be lower-case letters, digits, `-` or `_`, \
                             starting with a letter"
                                .into(),
                        );
                    }
                    if let Some(t) = cx.table(fv, &path)
                        && let Some(pin) = cx.flow(t, &path, fk.span())
                    {
                        config.flows.insert(flow, pin);
                    }
                }
            }
            "webhooks" => {
                if let Some(t) = cx.table(value, "webhooks") {
                    config.webhooks = cx.webhooks(t, "webhooks", key.span());
                }
            }
            "alerts" => {
                if let Some(t) = cx.table(value, "alerts") {
                    config.alerts = cx.alerts(t, "alerts", key.span());
                }
            }
            other => cx.at(
                key.span(),
                other,
                "unknown key; expected [connections.*], [flows.*], [webhooks] or [alerts]".into(),
            ),
        }
    }
    if cx.problems.is_empty() {
        Ok(config)
    } else {
        // In file order (stable: problems of one place keep their order).
        cx.problems.sort_by_key(|p| p.line.unwrap_or(0));
        Err(cx.problems)
    }
}

/// Parse an interval such as `30s`, `5m`, `1h` or `1d` (a positive whole number and a unit).
/// Used for `schedule` and for a component's default schedule (WIT `flow-info`).
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{s:?} is not an interval; expected a whole number and s, m, h or d, e.g. 30s, 5m, 1h"
        )
    };
    let unit_at = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = s.split_at(unit_at);
    if digits.is_empty() {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => return Err(bad()),
    }
    .ok_or_else(bad)?;
    if secs == 0 {
        return Err(format!("{s:?}: the interval must be longer than zero"));
    }
    Ok(Duration::from_secs(secs))
}

/// Problem collector for one file.
struct Cx<'a> {
    client: &'a str,
    file: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
}

type Table<'i> = DeTable<'i>;

impl Cx<'_> {
    fn at(&mut self, span: Range<usize>, key: &str, message: String) {
        self.problems.push(Problem {
            client: self.client.to_string(),
            file: self.file.to_path_buf(),
            line: Some(line_of(self.text, span.start)),
            key: Some(key.to_string()),
            message,
        });
    }

    fn table<'t, 'i>(
        &mut self,
        value: &'t Spanned<DeValue<'i>>,
        path: &str,
    ) -> Option<&'t Table<'i>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.at(
                    value.span(),
                    path,
                    format!("expected a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// A string field: `None` (and a problem when `required`) if absent or not a string.
    fn string(
        &mut self,
        table: &Table<'_>,
        path: &str,
        field: &str,
        required: bool,
        section: &Range<usize>,
    ) -> Option<(String, Range<usize>)> {
        let key = format!("{path}.{field}");
        match table.get(field) {
            None => {
                if required {
                    self.at(
                        section.clone(),
                        &key,
                        "missing; this key is required".into(),
                    );
                }
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) => Some((s.to_string(), v.span())),
                other => {
                    self.at(
                        v.span(),
                        &key,
                        format!("expected a string, found {}", other.type_str()),
                    );
                    None
                }
            },
        }
    }

    fn unknown_keys(&mut self, table: &Table<'_>, path: &str, allowed: &[&str]) {
        for (k, _) in table.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                self.at(
                    k.span(),
                    &format!("{path}.{}", k.get_ref()),
                    format!("unknown key; expected one of: {}", allowed.join(", ")),
                );
            }
        }
    }

    fn api_base(
        &mut self,
        table: &Table<'_>,
        path: &str,
        section: &Range<usize>,
        default: Option<&str>,
    ) -> Option<String> {
        let (raw, span) = match self.string(table, path, "api_base", default.is_none(), section) {
            Some(v) => v,
            None if table.get("api_base").is_none() => return default.map(str::to_string),
            None => return None,
        };
        match check_api_base(&raw) {
            Ok(url) => Some(url),
            Err(message) => {
                self.at(span, &format!("{path}.api_base"), message);
                None
            }
        }
    }

    fn secret_name(
        &mut self,
        table: &Table<'_>,
        path: &str,
        section: &Range<usize>,
    ) -> Option<String> {
        self.secret_field(table, path, "token_secret", true, section)
    }

    fn secret_field(
        &mut self,
        table: &Table<'_>,
        path: &str,
        field: &str,
        required: bool,
        section: &Range<usize>,
    ) -> Option<String> {
        let (name, span) = self.string(table, path, field, required, section)?;
        if is_secret_name(&name) {
            Some(name)
        } else {
            // Never echo it: it may be a pasted token.
            self.at(
                span,
                &format!("{path}.{field}"),
                "must be the NAME of a secret (lower-case letters, digits and `_`, at most 64), \
                 never the token itself; put the token in the secret store"
                    .into(),
            );
            None
        }
    }

    /// `[alerts]`: a key per owning team (`finance`, `operations`, `ecommerce`,
    /// `customer-service`, `integration`), each the secret name of that team's webhook URL.
    fn alerts(
        &mut self,
        t: &Table<'_>,
        path: &str,
        section: Range<usize>,
    ) -> BTreeMap<crate::exceptions::Team, String> {
        use crate::exceptions::Team;
        let names: Vec<&str> = Team::ALL.iter().map(|t| t.as_str()).collect();
        self.unknown_keys(t, path, &names);
        let mut out = BTreeMap::new();
        for team in Team::ALL {
            if let Some(secret) = self.secret_field(t, path, team.as_str(), false, &section) {
                out.insert(team, secret);
            }
        }
        out
    }

    /// `[webhooks]`: `public_url` (optional URL), `bigcommerce_secret`, `brightpearl_secret`
    /// (optional secret names).
    fn webhooks(
        &mut self,
        t: &Table<'_>,
        path: &str,
        section: Range<usize>,
    ) -> Option<WebhooksConfig> {
        let fields = ["public_url", "bigcommerce_secret", "brightpearl_secret"];
        self.unknown_keys(t, path, &fields);
        let before = self.problems.len();
        let public_url = match self.string(t, path, "public_url", false, &section) {
            None => None,
            Some((raw, span)) => match check_api_base(&raw) {
                Ok(url) => Some(url),
                Err(message) => {
                    self.at(span, &format!("{path}.public_url"), message);
                    None
                }
            },
        };
        let bigcommerce_secret = self.secret_field(t, path, "bigcommerce_secret", false, &section);
        let brightpearl_secret = self.secret_field(t, path, "brightpearl_secret", false, &section);
        (self.problems.len() == before).then_some(WebhooksConfig {
            public_url,
            bigcommerce_secret,
            brightpearl_secret,
        })
    }

    fn bigcommerce(
        &mut self,
        t: &Table<'_>,
        path: &str,
        section: Range<usize>,
    ) -> Option<BigCommerceConnection> {
        self.unknown_keys(t, path, &["store_hash", "api_base", "token_secret"]);
        let store_hash =
            self.string(t, path, "store_hash", true, &section)
                .and_then(|(h, span)| {
                    if !h.is_empty()
                        && h.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    {
                        Some(h)
                    } else {
                        self.at(
                            span,
                            &format!("{path}.store_hash"),
                            format!("{h:?} is not a store hash (lower-case letters and digits)"),
                        );
                        None
                    }
                });
        let api_base = self.api_base(t, path, &section, Some(BIGCOMMERCE_API_BASE));
        let token_secret = self.secret_name(t, path, &section);
        Some(BigCommerceConnection {
            store_hash: store_hash?,
            api_base: api_base?,
            token_secret: token_secret?,
        })
    }

    fn brightpearl(
        &mut self,
        t: &Table<'_>,
        path: &str,
        section: Range<usize>,
    ) -> Option<BrightpearlConnection> {
        self.unknown_keys(
            t,
            path,
            &[
                "account",
                "api_base",
                "auth",
                "app_ref",
                "token_secret",
                "dev_ref",
            ],
        );
        let account = self
            .string(t, path, "account", true, &section)
            .and_then(|(a, span)| {
                if is_ref(&a) {
                    Some(a)
                } else {
                    self.at(
                        span,
                        &format!("{path}.account"),
                        format!("{a:?} is not an account code (letters, digits, `_`, `-`)"),
                    );
                    None
                }
            });
        let api_base = self.api_base(t, path, &section, None);
        let app_ref = self
            .string(t, path, "app_ref", true, &section)
            .and_then(|(a, span)| {
                if is_ref(&a) {
                    Some(a)
                } else {
                    self.at(
                        span,
                        &format!("{path}.app_ref"),
                        format!("{a:?} is not an app reference (letters, digits, `_`, `-`, `.`)"),
                    );
                    None
                }
            });
        let token_secret = self.secret_name(t, path, &section);
        let dev_ref = self.string(t, path, "dev_ref", false, &section);
        let auth = match self.string(t, path, "auth", true, &section) {
            Some((a, _)) if a == "system" => {
                if let Some((_, span)) = dev_ref {
                    self.at(
                        span,
                        &format!("{path}.dev_ref"),
                        "only used with auth = \"oauth\"".into(),
                    );
                    None
                } else {
                    Some(BrightpearlAuth::System)
                }
            }
            Some((a, _)) if a == "oauth" => match dev_ref {
                Some((d, _)) if is_ref(&d) => Some(BrightpearlAuth::OAuth { dev_ref: d }),
                Some((d, span)) => {
                    self.at(
                        span,
                        &format!("{path}.dev_ref"),
                        format!("{d:?} is not a developer reference"),
                    );
                    None
                }
                None if t.get("dev_ref").is_some() => None,
                None => {
                    self.at(
                        section.clone(),
                        &format!("{path}.dev_ref"),
                        "missing; required with auth = \"oauth\"".into(),
                    );
                    None
                }
            },
            Some((a, span)) => {
                self.at(
                    span,
                    &format!("{path}.auth"),
                    format!("{a:?} is not an auth mode; expected \"system\" or \"oauth\""),
                );
                None
            }
            None => None,
        };
        Some(BrightpearlConnection {
            account: account?,
            api_base: api_base?,
            auth: auth?,
            app_ref: app_ref?,
            token_secret: token_secret?,
        })
    }

    fn flow(&mut self, t: &Table<'_>, path: &str, section: Range<usize>) -> Option<FlowPin> {
        self.unknown_keys(t, path, &["component", "sha256", "schedule", "mapping"]);
        let component = self.string(t, path, "component", true, &section).and_then(|(c, span)| {
            match split_component(&c) {
                Some((n, v)) => Some((n.to_string(), v.to_string())),
                None => {
                    self.at(
                        span,
                        &format!("{path}.component"),
                        format!("{c:?} is not name@version (e.g. orders@1.0.0; name lower-case, version semver)"),
                    );
                    None
                }
            }
        });
        let sha256 = self.string(t, path, "sha256", true, &section).and_then(|(h, span)| {
            if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
                Some(h.to_ascii_lowercase())
            } else {
                self.at(
                    span,
                    &format!("{path}.sha256"),
                    format!("must be 64 hexadecimal characters (the sha256 of the component's .wasm); got {} characters", h.chars().count()),
                );
                None
            }
        });
        let schedule = match self.string(t, path, "schedule", false, &section) {
            None if t.get("schedule").is_some() => None,
            None => Some((None, None)),
            Some((s, span)) if s.trim().contains(char::is_whitespace) => {
                match crate::cron::Cron::parse(&s) {
                    Ok(c) => Some((None, Some(c))),
                    Err(message) => {
                        self.at(span, &format!("{path}.schedule"), message);
                        None
                    }
                }
            }
            Some((s, span)) => match parse_interval(&s) {
                Ok(d) => Some((Some(d), None)),
                Err(message) => {
                    self.at(
                        span,
                        &format!("{path}.schedule"),
                        format!("{message}, or five cron fields, e.g. \"*/15 * * * *\""),
                    );
                    None
                }
            },
        };
        let mapping = match t.get("mapping") {
            None => Some(serde_json::Value::Object(Default::default())),
            Some(v) => match v.get_ref() {
                DeValue::Table(_) => self.json_of(v, &format!("{path}.mapping")),
                other => {
                    self.at(
                        v.span(),
                        &format!("{path}.mapping"),
                        format!("expected a table, found {}", other.type_str()),
                    );
                    None
                }
            },
        };
        let (component_name, component_version) = component?;
        let (schedule, cron) = schedule?;
        Some(FlowPin {
            component_name,
            component_version,
            sha256: sha256?,
            schedule,
            cron,
            mapping: mapping?,
        })
    }

    /// TOML → JSON for mappings: tables → objects, arrays → arrays, integers and finite floats
    /// → numbers, dates and times → strings in TOML form.
    fn json_of(&mut self, v: &Spanned<DeValue<'_>>, path: &str) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        Some(match v.get_ref() {
            DeValue::String(s) => J::String(s.to_string()),
            DeValue::Boolean(b) => J::Bool(*b),
            DeValue::Datetime(d) => J::String(d.to_string()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => J::from(n),
                Err(_) => {
                    self.at(
                        v.span(),
                        path,
                        format!("integer {i} does not fit in 64 bits"),
                    );
                    return None;
                }
            },
            DeValue::Float(f) => match f
                .as_str()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(n) => J::Number(n),
                None => {
                    self.at(
                        v.span(),
                        path,
                        format!("float {f} has no JSON form (use a string)"),
                    );
                    return None;
                }
            },
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.json_of(item, &format!("{path}[{i}]")) {
                        Some(j) => out.push(j),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                J::Array(out)
            }
            DeValue::Table(t) => {
                let mut out = serde_json::Map::new();
                let mut ok = true;
                for (k, item) in t.iter() {
                    match self.json_of(item, &format!("{path}.{}", k.get_ref())) {
                        Some(j) => {
                            out.insert(k.get_ref().to_string(), j);
                        }
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                J::Object(out)
            }
        })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The key at the start of `line` when it reads `key = ...`.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = l.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c)))
    .then(|| key.to_string())
}

/// Lower-case letters, digits, `-`, `_`; first a letter (or a digit unless `letter_first`).
fn is_word(s: &str, letter_first: bool) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() || (!letter_first && c.is_ascii_digit()) => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_ref(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

fn is_secret_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `name@version` with a lower-case name and a semver version (`1.2.3`, optional `-pre`).
fn split_component(s: &str) -> Option<(&str, &str)> {
    let (name, version) = s.split_once('@')?;
    if !is_word(name, true) {
        return None;
    }
    let (core, pre) = match version.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (version, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &&str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
    };
    if parts.len() != 3 || !parts.iter().all(numeric) {
        return None;
    }
    if let Some(pre) = pre
        && !pre
            .split('.')
            .all(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return None;
    }
    Some((name, version))
}

/// `https://host[:port][/path]`, or `http://` to a loopback host; returned without trailing `/`.
fn check_api_base(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(format!(
            "{raw:?}: an API base has no query, fragment or credentials"
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| format!("{raw:?} has no host"))?;
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{raw:?}: plain http is only allowed to a loopback host (the sandbox); use https"
            ));
        }
        other => return Err(format!("{raw:?}: scheme {other:?} is not http(s)")),
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}
