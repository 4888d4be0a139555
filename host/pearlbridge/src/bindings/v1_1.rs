//! The `bindgen!` of the `pearlbridge:flow@1.1.0` world (`wit/flow.wit`). The interfaces
//! 1.1.0 shares with 1.0.0 are mapped onto [`super::v1_0`], so the host implements them once
//! and both worlds' `runner` exports use the same Rust types; only `context` (import) and
//! `manifest` (export) are new here.

wasmtime::component::bindgen!({
    world: "flow",
    path: "../../wit",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "pearlbridge:flow/types@1.1.0": super::v1_0::pearlbridge::flow::types,
        "pearlbridge:flow/api@1.1.0": super::v1_0::pearlbridge::flow::api,
        "pearlbridge:flow/state@1.1.0": super::v1_0::pearlbridge::flow::state,
        "pearlbridge:flow/config@1.1.0": super::v1_0::pearlbridge::flow::config,
        "pearlbridge:flow/report@1.1.0": super::v1_0::pearlbridge::flow::report,
    },
});
