//! The one `bindgen!` for the `pearlbridge:flow@1.0.0` world (Zed's thin per-version
//! binding layer). A later major version gets its own module beside this one.

wasmtime::component::bindgen!({
    world: "flow",
    path: "../../wit",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::exports::pearlbridge::flow::runner::{
    ConfigProblem, FlowError, FlowInfo, RunSummary, Trigger,
};
pub use self::pearlbridge::flow::types::{
    Event, Exception, Level, Method, Money, Request, Response, SendError, System, Team,
};
