//! `/v1/events`: the project's events, as a list (`list.rs`), one by one (`get.rs`), and live
//! as Server-Sent Events (`stream.rs`), which resume after `Last-Event-ID` without a gap or a
//! duplicate. Scope `resource:read`.

pub mod filter_params;
pub mod get;
pub mod list;
pub mod stream;
pub mod view;
