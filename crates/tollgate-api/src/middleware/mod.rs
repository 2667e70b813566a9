//! Tower middleware of the request flow, outermost first: `observe` (request id, request
//! context, one log line per request), panic catching, and the request timeout.

pub mod observe;
pub mod request_id;
pub mod timeout;
