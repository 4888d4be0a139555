//! The thin per-version binding layer: one `bindgen!` per `pearlbridge:flow` world version
//! ([`v1_0`], [`v1_1`]). The shared types and imports come from [`v1_0`]; [`WitVersion`] says
//! which world a component was built against, read from the version of the `runner` it
//! exports.

pub mod v1_0;
pub mod v1_1;

pub use self::v1_0::exports::pearlbridge::flow::runner::{
    ConfigProblem, FlowError, FlowInfo, RunSummary, Trigger,
};
pub use self::v1_0::pearlbridge::flow::types::{
    Event, Exception, Level, Method, Money, Request, Response, SendError, System, Team,
};
pub use self::v1_0::pearlbridge::flow::{api, config, report, state, types};
pub use self::v1_1::exports::pearlbridge::flow::manifest::Need;
pub use self::v1_1::pearlbridge::flow::context::{self, InboxEvent, RunContext};

/// The `pearlbridge:flow` world version a component was built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WitVersion {
    /// `pearlbridge:flow@1.0.0`: no `context`, no `manifest` (system-wide path policy only).
    V1_0,
    /// `pearlbridge:flow@1.1.0`: `context` import, `manifest` export.
    V1_1,
}

impl WitVersion {
    /// The world's package id, e.g. `pearlbridge:flow@1.1.0`.
    pub fn package(self) -> &'static str {
        match self {
            WitVersion::V1_0 => "pearlbridge:flow@1.0.0",
            WitVersion::V1_1 => "pearlbridge:flow@1.1.0",
        }
    }

    /// The version from a component's export names: that of its `pearlbridge:flow/runner`
    /// export (`1.0.x` → 1.0, `1.y.z` with y ≥ 1 → 1.1). `None` without a 1.x runner.
    pub fn of_exports<S: AsRef<str>>(exports: &[S]) -> Option<WitVersion> {
        let version = exports
            .iter()
            .find_map(|e| e.as_ref().strip_prefix("pearlbridge:flow/runner@"))?;
        let mut parts = version.split('.');
        let (major, minor) = (parts.next()?, parts.next()?);
        match (major, minor.parse::<u64>().ok()?) {
            ("1", 0) => Some(WitVersion::V1_0),
            ("1", _) => Some(WitVersion::V1_1),
            _ => None,
        }
    }
}

impl std::fmt::Display for WitVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.package())
    }
}

/// A component's `InstancePre` in the world it was built against.
pub enum FlowPre<T: 'static> {
    V1_0(v1_0::FlowPre<T>),
    V1_1(v1_1::FlowPre<T>),
}

impl<T: Send + 'static> FlowPre<T> {
    /// Check that `pre`'s component exports `version`'s `runner` (and, for 1.1, `manifest`).
    pub fn new(
        version: WitVersion,
        pre: wasmtime::component::InstancePre<T>,
    ) -> wasmtime::Result<Self> {
        Ok(match version {
            WitVersion::V1_0 => FlowPre::V1_0(v1_0::FlowPre::new(pre)?),
            WitVersion::V1_1 => FlowPre::V1_1(v1_1::FlowPre::new(pre)?),
        })
    }

    pub fn version(&self) -> WitVersion {
        match self {
            FlowPre::V1_0(_) => WitVersion::V1_0,
            FlowPre::V1_1(_) => WitVersion::V1_1,
        }
    }

    pub async fn instantiate_async(
        &self,
        store: impl wasmtime::AsContextMut<Data = T>,
    ) -> wasmtime::Result<Flow> {
        Ok(match self {
            FlowPre::V1_0(p) => Flow::V1_0(p.instantiate_async(store).await?),
            FlowPre::V1_1(p) => Flow::V1_1(p.instantiate_async(store).await?),
        })
    }
}

/// An instantiated flow; its calls go through the world it was built against.
pub enum Flow {
    V1_0(v1_0::Flow),
    V1_1(v1_1::Flow),
}

impl Flow {
    /// `runner.describe()`.
    pub async fn call_describe<S: wasmtime::AsContextMut>(
        &self,
        store: S,
    ) -> wasmtime::Result<FlowInfo>
    where
        S::Data: Send,
    {
        match self {
            Flow::V1_0(f) => f.pearlbridge_flow_runner().call_describe(store).await,
            Flow::V1_1(f) => f.pearlbridge_flow_runner().call_describe(store).await,
        }
    }

    /// `runner.check-config(config)`.
    pub async fn call_check_config<S: wasmtime::AsContextMut>(
        &self,
        store: S,
        config: &str,
    ) -> wasmtime::Result<Vec<ConfigProblem>>
    where
        S::Data: Send,
    {
        match self {
            Flow::V1_0(f) => {
                f.pearlbridge_flow_runner()
                    .call_check_config(store, config)
                    .await
            }
            Flow::V1_1(f) => {
                f.pearlbridge_flow_runner()
                    .call_check_config(store, config)
                    .await
            }
        }
    }

    /// `runner.run(trigger)`.
    pub async fn call_run<S: wasmtime::AsContextMut>(
        &self,
        store: S,
        trigger: &Trigger,
    ) -> wasmtime::Result<Result<RunSummary, FlowError>>
    where
        S::Data: Send,
    {
        match self {
            Flow::V1_0(f) => f.pearlbridge_flow_runner().call_run(store, trigger).await,
            Flow::V1_1(f) => f.pearlbridge_flow_runner().call_run(store, trigger).await,
        }
    }

    /// `manifest.needs()`; `None` for a 1.0.0 component, which has no manifest.
    pub async fn call_needs<S: wasmtime::AsContextMut>(
        &self,
        store: S,
    ) -> wasmtime::Result<Option<Vec<Need>>>
    where
        S::Data: Send,
    {
        match self {
            Flow::V1_0(_) => Ok(None),
            Flow::V1_1(f) => f
                .pearlbridge_flow_manifest()
                .call_needs(store)
                .await
                .map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WitVersion;

    #[test]
    fn version_from_the_runner_export() {
        let of = |e: &str| WitVersion::of_exports(&[e]);
        assert_eq!(of("pearlbridge:flow/runner@1.0.0"), Some(WitVersion::V1_0));
        assert_eq!(of("pearlbridge:flow/runner@1.1.0"), Some(WitVersion::V1_1));
        assert_eq!(of("pearlbridge:flow/runner@1.3.2"), Some(WitVersion::V1_1));
        assert_eq!(of("pearlbridge:flow/runner@2.0.0"), None);
        assert_eq!(of("pearlbridge:flow/manifest@1.1.0"), None);
    }
}
