//! Tower middleware of the request flow, outermost first: `observe` (request id, request
//! context, one log line per request), the limits on the request head, panic catching, and
//! the request timeout.

pub mod head_limits;
pub mod observe;
pub mod request_id;
pub mod timeout;
