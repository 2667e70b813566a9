//! Tower middleware of the request flow, outermost first: `observe` (request id, request
//! context, one log line per request), draining a body an early refusal left unread, the limits
//! on the request head (an encoded body among them), panic catching, and the request timeout (the last four in one layer:
//! `unread_body` calls `head_limits` and `guard`).

pub mod guard;
pub mod head_limits;
pub mod observe;
pub mod request_id;
pub mod unread_body;
