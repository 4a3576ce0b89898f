CREATE TABLE IF NOT EXISTS "demo.ecommerce.data" (
  "eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
  "client" LowCardinality(String),
  "_seq" Int64,
  "clientIpAddress" Nullable(IPv4),
  "timestamp" Nullable(String) CODEC(ZSTD),
  "method" LowCardinality(Nullable(String)),
  "uri" Nullable(String) CODEC(ZSTD),
  "protocol" LowCardinality(Nullable(String)),
  "statusCode" Nullable(Int64),
  "bytesTransferred" Nullable(Int64),
  "referralUri" Nullable(String) CODEC(ZSTD),
  "userAgent" Nullable(String) CODEC(ZSTD),
  "cookie" Nullable(String) CODEC(ZSTD),
  "timeTaken" Nullable(Int64),
  INDEX "tokens_uri" ifNull("uri", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_uri" lower(ifNull("uri", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_referralUri" ifNull("referralUri", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_referralUri" lower(ifNull("referralUri", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_userAgent" ifNull("userAgent", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_userAgent" lower(ifNull("userAgent", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1
)
ENGINE=MergeTree
PARTITION BY toDate32(eventdate)
ORDER BY (client, eventdate, _seq)
SETTINGS
  ttl_only_drop_parts = 1,
  non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "siem.logtrust.web.activity" (
  "eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
  "client" LowCardinality(String),
  "_seq" Int64,
  "level" LowCardinality(Nullable(String)),
  "domain" LowCardinality(Nullable(String)),
  "userid" Nullable(String) CODEC(ZSTD),
  "username" Nullable(String) CODEC(ZSTD),
  "sessionid" Nullable(String) CODEC(ZSTD),
  "correlationid" Nullable(String) CODEC(ZSTD),
  "srcHost" Nullable(String) CODEC(ZSTD),
  "srcPort" Nullable(Int32),
  "serverHost" LowCardinality(Nullable(String)),
  "serverPort" Nullable(Int32),
  "type" LowCardinality(Nullable(String)),
  "method" LowCardinality(Nullable(String)),
  "url" Nullable(String) CODEC(ZSTD),
  "headers" Nullable(String) CODEC(ZSTD),
  "params" Nullable(String) CODEC(ZSTD),
  "referer" Nullable(String) CODEC(ZSTD),
  "userAgent" Nullable(String) CODEC(ZSTD),
  "locale" LowCardinality(Nullable(String)),
  "contentLength" Nullable(Int32),
  "responseLength" Nullable(Int32),
  "responseTime" Nullable(Int32),
  "result" LowCardinality(Nullable(String)),
  "resourceInfo" Nullable(String) CODEC(ZSTD),
  "errorInfo" Nullable(String) CODEC(ZSTD),
  "country" LowCardinality(Nullable(String)),
  "region" LowCardinality(Nullable(String)),
  "city" LowCardinality(Nullable(String)),
  "isp" LowCardinality(Nullable(String)),
  "org" LowCardinality(Nullable(String)),
  INDEX "tokens_url" ifNull("url", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_url" lower(ifNull("url", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_headers" ifNull("headers", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_headers" lower(ifNull("headers", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_params" ifNull("params", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_params" lower(ifNull("params", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_userAgent" ifNull("userAgent", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_userAgent" lower(ifNull("userAgent", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_errorInfo" ifNull("errorInfo", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_errorInfo" lower(ifNull("errorInfo", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1
)
ENGINE=MergeTree
PARTITION BY toDate32(eventdate)
ORDER BY (client, eventdate, _seq)
SETTINGS
  ttl_only_drop_parts = 1,
  non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "siem.logtrust.web.connection" (
  "eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
  "client" LowCardinality(String),
  "_seq" Int64,
  "level" LowCardinality(Nullable(String)),
  "domain" LowCardinality(Nullable(String)),
  "userid" Nullable(String) CODEC(ZSTD),
  "username" Nullable(String) CODEC(ZSTD),
  "srcHost" Nullable(String) CODEC(ZSTD),
  "srcPort" Nullable(Int32),
  "serverHost" LowCardinality(Nullable(String)),
  "serverPort" Nullable(Int32),
  "service" LowCardinality(Nullable(String)),
  "method" LowCardinality(Nullable(String)),
  "action" LowCardinality(Nullable(String)),
  "result" LowCardinality(Nullable(String)),
  "reason" Nullable(String) CODEC(ZSTD),
  "userAgent" Nullable(String) CODEC(ZSTD),
  "correlationid" Nullable(String) CODEC(ZSTD),
  INDEX "tokens_userAgent" ifNull("userAgent", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_userAgent" lower(ifNull("userAgent", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1
)
ENGINE=MergeTree
PARTITION BY toDate32(eventdate)
ORDER BY (client, eventdate, _seq)
SETTINGS
  ttl_only_drop_parts = 1,
  non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "siem.logtrust.collector.counter" (
  "eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
  "client" LowCardinality(String),
  "_seq" Int64,
  "collector" LowCardinality(Nullable(String)),
  "engine" LowCardinality(Nullable(String)),
  "kind" LowCardinality(Nullable(String)),
  "object" LowCardinality(Nullable(String)),
  "events" Nullable(Int64),
  "bytes" Nullable(Int64)
)
ENGINE=MergeTree
PARTITION BY toDate32(eventdate)
ORDER BY (client, eventdate, _seq)
SETTINGS
  ttl_only_drop_parts = 1,
  non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "siem.logtrust.web.navigation" (
  "eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
  "client" LowCardinality(String),
  "_seq" Int64,
  "level" LowCardinality(Nullable(String)),
  "domain" LowCardinality(Nullable(String)),
  "userid" Nullable(String) CODEC(ZSTD),
  "userEmail" Nullable(String) CODEC(ZSTD),
  "sessionid" Nullable(String) CODEC(ZSTD),
  "srcHost" Nullable(String) CODEC(ZSTD),
  "url" Nullable(String) CODEC(ZSTD),
  "method" LowCardinality(Nullable(String)),
  "section" LowCardinality(Nullable(String)),
  "action" LowCardinality(Nullable(String)),
  "userAgent" Nullable(String) CODEC(ZSTD),
  INDEX "tokens_url" ifNull("url", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_url" lower(ifNull("url", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_userAgent" ifNull("userAgent", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_userAgent" lower(ifNull("userAgent", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1
)
ENGINE=MergeTree
PARTITION BY toDate32(eventdate)
ORDER BY (client, eventdate, _seq)
SETTINGS
  ttl_only_drop_parts = 1,
  non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "linqd.ingest.rejected" (
  "eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
  "client" LowCardinality(String),
  "_seq" Int64,
  "tag" LowCardinality(Nullable(String)),
  "hostname" LowCardinality(Nullable(String)),
  "message" Nullable(String) CODEC(ZSTD),
  "reason" LowCardinality(Nullable(String)),
  INDEX "tokens_message" ifNull("message", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_message" lower(ifNull("message", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1
)
ENGINE=MergeTree
PARTITION BY toDate32(eventdate)
ORDER BY (client, eventdate, _seq)
SETTINGS
  ttl_only_drop_parts = 1,
  non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "siem.logtrust.alert.info" (
  "eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
  "client" LowCardinality(String),
  "_seq" Int64,
  "alertHost" LowCardinality(Nullable(String)),
  "domain" LowCardinality(Nullable(String)),
  "priority" Nullable(Float64),
  "context" LowCardinality(Nullable(String)),
  "category" LowCardinality(Nullable(String)),
  "alertId" Nullable(String) CODEC(ZSTD),
  "status" Nullable(Int32),
  "srcIp" Nullable(IPv4),
  "srcPort" Nullable(Int32),
  "srcHost" Nullable(String) CODEC(ZSTD),
  "dstIp" Nullable(IPv4),
  "dstPort" Nullable(Int32),
  "dstHost" Nullable(String) CODEC(ZSTD),
  "protocol" LowCardinality(Nullable(String)),
  "application" LowCardinality(Nullable(String)),
  "engine" LowCardinality(Nullable(String)),
  "username" Nullable(String) CODEC(ZSTD),
  "digest" Nullable(String) CODEC(ZSTD),
  "extraData" Nullable(String) CODEC(ZSTD),
  INDEX "tokens_extraData" ifNull("extraData", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_extraData" lower(ifNull("extraData", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1
)
ENGINE=MergeTree
PARTITION BY toDate32(eventdate)
ORDER BY (client, eventdate, _seq)
SETTINGS
  ttl_only_drop_parts = 1,
  non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "my.app.logs" (
  "eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
  "client" LowCardinality(String),
  "_seq" Int64,
  "hostname" LowCardinality(Nullable(String)),
  "message" Nullable(String) CODEC(ZSTD),
  INDEX "tokens_message" ifNull("message", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX "tokens_ci_message" lower(ifNull("message", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1
)
ENGINE=MergeTree
PARTITION BY toDate32(eventdate)
ORDER BY (client, eventdate, _seq)
SETTINGS
  ttl_only_drop_parts = 1,
  non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "my.lookuplist.x#0123" ("eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD), "client" LowCardinality(String), "_seq" Int64, "k" Nullable(String) CODEC(ZSTD)) ENGINE=MergeTree PARTITION BY toDate32(eventdate) ORDER BY (client, eventdate, _seq) SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000, fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "my.lookuplist.x#0123#new" ("eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD), "client" LowCardinality(String), "_seq" Int64, "k" Nullable(String) CODEC(ZSTD)) ENGINE=MergeTree PARTITION BY toDate32(eventdate) ORDER BY (client, eventdate, _seq) SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000, fsync_after_insert = 1;

CREATE TABLE IF NOT EXISTS "a.b" ("eventdate" DateTime64(3, 'UTC') CODEC(Delta, ZSTD), "client" LowCardinality(String), "_seq" Int64, "hostname" LowCardinality(Nullable(String)), "message" Nullable(String) CODEC(ZSTD), INDEX "tokens_message" ifNull("message", '') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1, INDEX "tokens_ci_message" lower(ifNull("message", '')) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1) ENGINE=MergeTree PARTITION BY toDate32(eventdate) ORDER BY (client, eventdate, _seq) TTL eventdate + INTERVAL 30 DAY SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000, fsync_after_insert = 1;

ALTER TABLE "demo.ecommerce.data" MODIFY TTL eventdate + INTERVAL 30 DAY;

ALTER TABLE "demo.ecommerce.data" REMOVE TTL;

DELETE FROM "demo.ecommerce.data" WHERE eventdate < fromUnixTimestamp64Milli(CAST(1700000000000 AS Int64), 'UTC');

EXCHANGE TABLES "my.lookuplist.x#0123" AND "my.lookuplist.x#0123#new";

DROP TABLE IF EXISTS "my.lookuplist.x#0123#new" SYNC;

INSERT INTO "demo.ecommerce.data" ("eventdate", "uri") SETTINGS insert_deduplication_token = 'w:1-2';
