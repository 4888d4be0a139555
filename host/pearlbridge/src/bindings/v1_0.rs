//! The `bindgen!` of the frozen `pearlbridge:flow@1.0.0` world (`wit/v1.0.0/flow.wit`): the
//! types and the `api`, `state`, `config`, `report` imports every 1.x world shares, and the
//! 1.0.0 `runner` export.

wasmtime::component::bindgen!({
    world: "flow",
    path: "../../wit/v1.0.0",
    imports: { default: async | trappable },
    exports: { default: async },
});
