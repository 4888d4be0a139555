//! Guest SDK for Pearlbridge flows.

/// Bindings for the `pearlbridge:flow@1.0.0` world (imports and the `runner` export).
pub mod bindings {
    wit_bindgen::generate!({
        world: "flow",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_flow",
        default_bindings_module: "pearlbridge_sdk::bindings",
    });
}
pub use bindings::export_flow;
