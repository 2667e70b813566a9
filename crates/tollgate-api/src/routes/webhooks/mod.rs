//! `/v1/webhooks`: endpoints that receive the project's events (admin), their deliveries and
//! attempts, replays of failed deliveries, and test events.

pub mod create;
pub mod deliveries;
pub mod manage;
pub mod view;
