//! What every handler shares: the store and the settings the API needs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tollgate_core::KeyId;
use tollgate_store::Store;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// A request not answered within this gets 408.
    pub request_timeout: Duration,
    /// Keys whose secret is older than this are marked "rotation due".
    pub key_rotation_period: time::Duration,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            key_rotation_period: time::Duration::days(90),
        }
    }
}

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    /// Where everything is kept.
    pub store: Arc<dyn Store>,
    /// API settings.
    pub settings: Arc<ApiSettings>,
    /// When each key's `last_used_at` was last written, so it is written at most once a minute.
    pub key_touches: Arc<Mutex<HashMap<KeyId, Instant>>>,
}

impl AppState {
    /// State over `store`.
    pub fn new(store: Arc<dyn Store>, settings: ApiSettings) -> Self {
        Self {
            store,
            settings: Arc::new(settings),
            key_touches: Arc::default(),
        }
    }
}
