//! The shared sliding-window log in Redis: one sorted set per credential and class, updated by
//! one Lua script per request (one round trip, atomic), timed by Redis's own clock.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::Script;

use crate::{Decision, LimiterError, Quota, RateLimiter};

/// How long a request waits for Redis before the limiter gives up (and the caller fails open
/// or closed).
const TIMEOUT: Duration = Duration::from_millis(250);

const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local cost = tonumber(ARGV[5])
local allowed = 0
if count + cost <= limit then
  allowed = 1
  if ARGV[4] == '1' then
    for i = 1, cost do
      redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3] .. ':' .. i)
    end
    count = count + cost
  end
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = 0
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, count, reset}
";

/// The limiter.
#[derive(Clone)]
pub struct RedisLimiter {
    conn: ConnectionManager,
    script: Script,
    prefix: String,
}

impl RedisLimiter {
    /// Connects to `url` (`redis://127.0.0.1:6379`). Later outages are survived: the manager
    /// reconnects by itself.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, LimiterError> {
        let client = redis::Client::open(url).map_err(|e| LimiterError::Unavailable(e.to_string()))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(Duration::from_secs(3), ConnectionManager::new_with_config(client, config))
            .await
            .map_err(|_| LimiterError::Unavailable("timed out connecting".into()))?
            .map_err(|e| LimiterError::Unavailable(e.to_string()))?;
        Ok(Self { conn, script: Script::new(SCRIPT), prefix: prefix.to_owned() })
    }

    async fn run(&self, key: &str, quota: Quota, consume: bool, cost: u32) -> Result<Decision, LimiterError> {
        let mut conn = self.conn.clone();
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation.arg(quota.limit).arg(quota.window.as_micros() as u64).arg(rand::random::<u64>()).arg(if consume {
            "1"
        } else {
            "0"
        });
        invocation.arg(cost);
        let (allowed, used, reset_us): (i64, i64, i64) =
            tokio::time::timeout(TIMEOUT, invocation.invoke_async(&mut conn))
                .await
                .map_err(|_| LimiterError::Unavailable("timed out".into()))?
                .map_err(|e| LimiterError::Unavailable(e.to_string()))?;
        Ok(Decision {
            allowed: allowed == 1,
            quota,
            used: used.max(0) as u32,
            reset_after: Duration::from_micros(reset_us.max(0) as u64),
        })
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn acquire(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
        self.run(key, quota, true, 1).await
    }

    async fn peek(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
        let mut d = self.run(key, quota, false, 1).await?;
        d.allowed = true;
        Ok(d)
    }

    async fn acquire_many(&self, key: &str, quota: Quota, n: u32) -> Result<Decision, LimiterError> {
        self.run(key, quota, true, n).await
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
