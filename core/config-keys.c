/* The core's configuration schema.
 *
 * LiveKit's ingress and egress keys keep their meaning so that their config files work as they
 * are; the ones sluice has no use for are accepted with a note (SL_KEY_UNUSED) rather than
 * refused, and legacy spellings map onto the current key (alias_of). sluice's own keys sit beside
 * them. Plugins add their keys at load time (config.c).
 *
 * CPU costs are in cores. LiveKit's ingress ships zeros for its costs, which admits work without
 * limit; sluice's defaults are non-zero: a transcoding ingress needs about two cores, a
 * passthrough one a small fraction of one.
 */
#include "config.h"

#define K(path, type, def, help)                                                                   \
  {                                                                                                \
    path, type, def, 0, 0, help, 0, NULL                                                           \
  }
#define KR(path, type, def, min, max, help)                                                        \
  {                                                                                                \
    path, type, def, min, max, help, 0, NULL                                                       \
  }
#define KF(path, type, def, flags, help)                                                           \
  {                                                                                                \
    path, type, def, 0, 0, help, flags, NULL                                                       \
  }
#define SECRET(path, help)      KF(path, SL_KEY_STRING, NULL, SL_KEY_SECRET, help)
#define UNUSED(path, type, why) KF(path, type, NULL, SL_KEY_UNUSED, why)
#define ALIAS(path, canonical)                                                                     \
  {                                                                                                \
    path, SL_KEY_ANY, NULL, 0, 0, NULL, 0, canonical                                               \
  }
#define COST(path, def, help) KR(path, SL_KEY_DOUBLE, def, 0, 1024, help)

/* Storage sections share one shape wherever they appear (storage:, backup:, the legacy
 * top-level s3:/azure:/gcp:/alioss:), so they are spelled out by this macro. */
#define STORAGE_KEYS(p)                                                                            \
  K(p "s3", SL_KEY_SECTION, NULL, "Amazon S3 or an S3-compatible server"),                         \
      K(p "s3.access_key", SL_KEY_STRING, NULL, "access key id"),                                  \
      SECRET(p "s3.secret", "secret access key"),                                                  \
      SECRET(p "s3.session_token", "session token for temporary credentials"),                     \
      K(p "s3.assume_role_arn", SL_KEY_STRING, NULL, "role to assume"),                            \
      K(p "s3.assume_role_external_id", SL_KEY_STRING, NULL, "external id for the role"),          \
      K(p "s3.region", SL_KEY_STRING, NULL, "bucket region"),                                      \
      K(p "s3.endpoint", SL_KEY_STRING, NULL, "custom endpoint URL"),                              \
      K(p "s3.bucket", SL_KEY_STRING, NULL, "bucket name"),                                        \
      K(p "s3.force_path_style", SL_KEY_BOOL, NULL,                                                \
        "path-style URLs (endpoint/bucket/key); default on with a custom endpoint"),               \
      K(p "s3.proxy_config", SL_KEY_SECTION, NULL, "HTTP proxy"),                                  \
      K(p "s3.proxy_config.url", SL_KEY_STRING, NULL, "proxy URL"),                                \
      K(p "s3.proxy_config.username", SL_KEY_STRING, NULL, "proxy user"),                          \
      SECRET(p "s3.proxy_config.password", "proxy password"),                                      \
      KR(p "s3.max_retries", SL_KEY_INT, "5", 0, 100, "attempts per upload"),                      \
      K(p "s3.max_retry_delay", SL_KEY_DURATION, "5s", "longest back-off between attempts"),       \
      K(p "s3.min_retry_delay", SL_KEY_DURATION, "100ms", "first back-off"),                       \
      K(p "s3.metadata", SL_KEY_FREEMAP, NULL, "object metadata"),                                 \
      K(p "s3.tagging", SL_KEY_STRING, NULL, "object tags, URL-encoded"),                          \
      K(p "s3.content_disposition", SL_KEY_STRING, NULL, "Content-Disposition header"),            \
      K(p "azure", SL_KEY_SECTION, NULL, "Azure Blob storage"),                                    \
      K(p "azure.account_name", SL_KEY_STRING, NULL, "storage account"),                           \
      SECRET(p "azure.account_key", "account key (base64)"),                                       \
      K(p "azure.container_name", SL_KEY_STRING, NULL, "container"),                               \
      K(p "azure.endpoint", SL_KEY_STRING, NULL, "custom endpoint URL (sluice)"),                  \
      KR(p "azure.max_put_blob_mib", SL_KEY_INT, "256", 1, 5000,                                   \
         "files up to this many MiB go up in one Put Blob, larger ones in blocks (sluice)"),       \
      K(p "gcp", SL_KEY_SECTION, NULL, "Google Cloud Storage"),                                    \
      SECRET(p "gcp.credentials_json", "service account JSON"),                                    \
      K(p "gcp.bucket", SL_KEY_STRING, NULL, "bucket"),                                            \
      K(p "gcp.endpoint", SL_KEY_STRING, NULL, "custom endpoint URL (sluice)"),                    \
      K(p "gcp.proxy_config", SL_KEY_SECTION, NULL, "HTTP proxy"),                                 \
      K(p "gcp.proxy_config.url", SL_KEY_STRING, NULL, "proxy URL"),                               \
      K(p "gcp.proxy_config.username", SL_KEY_STRING, NULL, "proxy user"),                         \
      SECRET(p "gcp.proxy_config.password", "proxy password"),                                     \
      K(p "alioss", SL_KEY_SECTION, NULL, "Alibaba Cloud OSS"),                                    \
      K(p "alioss.access_key", SL_KEY_STRING, NULL, "AccessKey id"),                               \
      SECRET(p "alioss.secret", "AccessKey secret"),                                               \
      K(p "alioss.endpoint", SL_KEY_STRING, NULL, "endpoint"),                                     \
      K(p "alioss.bucket", SL_KEY_STRING, NULL, "bucket"),                                         \
      K(p "alioss.region", SL_KEY_STRING, NULL, "region")

#define REDIS_KEYS                                                                                 \
  K("redis", SL_KEY_SECTION, NULL, "Redis job bus; without it a single node runs on its own"),     \
      K("redis.address", SL_KEY_STRING, NULL, "host:port"),                                        \
      K("redis.username", SL_KEY_STRING, NULL, "ACL user"), SECRET("redis.password", "password"),  \
      KR("redis.db", SL_KEY_INT, "0", 0, 1000, "database number"),                                 \
      K("redis.use_tls", SL_KEY_BOOL, "false",                                                     \
        "TLS 1.2+, checked against the system roots and the address's host (LiveKit: deprecated, " \
        "use redis.tls)"),                                                                         \
      K("redis.tls", SL_KEY_SECTION, NULL,                                                         \
        "TLS to Redis (LiveKit's xtls settings), through an in-process tunnel"),                   \
      K("redis.tls.enabled", SL_KEY_BOOL, "false",                                                 \
        "use TLS with these settings; takes precedence over use_tls"),                             \
      K("redis.tls.insecure", SL_KEY_BOOL, "false",                                                \
        "accept any server certificate and name (no verification)"),                               \
      K("redis.tls.server_name", SL_KEY_STRING, NULL,                                              \
        "name sent as SNI and checked in the certificate (default: the address's host)"),          \
      K("redis.tls.ca_cert_file", SL_KEY_STRING, NULL,                                             \
        "PEM file of the roots to trust, instead of the system's"),                                \
      K("redis.tls.client_cert_file", SL_KEY_STRING, NULL,                                         \
        "PEM client certificate shown to the server (with client_key_file)"),                      \
      K("redis.tls.client_key_file", SL_KEY_STRING, NULL, "PEM private key of client_cert_file"),  \
      K("redis.sentinel_master_name", SL_KEY_STRING, NULL, "sentinel master"),                     \
      K("redis.sentinel_username", SL_KEY_STRING, NULL, "sentinel user"),                          \
      SECRET("redis.sentinel_password", "sentinel password"),                                      \
      K("redis.sentinel_addresses", SL_KEY_STRING_LIST, NULL, "sentinels"),                        \
      K("redis.cluster_addresses", SL_KEY_STRING_LIST, NULL, "cluster nodes"),                     \
      K("redis.dial_timeout", SL_KEY_DURATION, "5s", "connect timeout"),                           \
      K("redis.read_timeout", SL_KEY_DURATION, "3s", "read timeout"),                              \
      K("redis.write_timeout", SL_KEY_DURATION, "3s", "write timeout"),                            \
      KR("redis.max_redirects", SL_KEY_INT, "3", 0, 100, "cluster redirects"),                     \
      K("redis.pool_timeout", SL_KEY_DURATION, "4s", "pool timeout"),                              \
      KR("redis.pool_size", SL_KEY_INT, "10", 0, 10000, "pool size")

const SlKeyDef sl_core_keys[] = {
    /* identity and API */
    SECRET("api_key", "API key; LIVEKIT_API_KEY overrides"),
    SECRET("api_secret", "API secret; LIVEKIT_API_SECRET overrides"),
    UNUSED("ws_url", SL_KEY_STRING, "no LiveKit server is needed"),
    K("node_id", SL_KEY_STRING, NULL, "this worker's id; generated when unset"),
    K("cluster_id", SL_KEY_STRING, NULL, "workers sharing a Redis form clusters by this id"),
    K("api_port", SL_KEY_PORT, "0", "Twirp API port (0 = off)"),
    K("output_dir", SL_KEY_STRING, "./recordings",
      "where outputs land when no storage is configured"),
    REDIS_KEYS,

    /* HTTP surfaces */
    K("health_port", SL_KEY_PORT, "0", "/ and /availability (0 = off)"),
    K("prometheus_port", SL_KEY_PORT, "0", "/metrics (0 = off)"),
    K("bind_address", SL_KEY_STRING, "0.0.0.0", "address the HTTP surfaces listen on"),
    UNUSED("debug_handler_port", SL_KEY_PORT, "no Go profiler"),

    /* ingress listeners (the input plugins read these) */
    K("rtmp_port", SL_KEY_PORT, "1935", "RTMP listener (-1 = off)"),
    K("whip_port", SL_KEY_PORT, "8080", "WHIP listener (-1 = off)"),
    UNUSED("http_relay_port", SL_KEY_PORT, "media reaches handlers over a socketpair"),
    UNUSED("whip_proxy_enabled", SL_KEY_BOOL, NULL),
    K("enable_stream_latency_reduction", SL_KEY_BOOL, "false", "smaller pipeline buffers"),
    K("rtc_config", SL_KEY_ANY, NULL, "WebRTC settings for WHIP"),
    K("development", SL_KEY_BOOL, "false", "development mode"),
    UNUSED("service_name", SL_KEY_STRING, NULL),

    /* logging */
    K("logging", SL_KEY_SECTION, NULL, "log output"),
    K("logging.level", SL_KEY_STRING, "info", "debug, info, warn or error"),
    K("logging.json", SL_KEY_BOOL, "false", "one JSON object per line"),
    K("logging.sample", SL_KEY_BOOL, "false", "accepted; sluice does not sample"),
    K("logging.component_levels", SL_KEY_FREEMAP, NULL, "accepted; not used"),
    K("logging.pion_level", SL_KEY_STRING, NULL, "accepted; not used"),
    ALIAS("log_level", "logging.level"),
    ALIAS("level", "logging.level"),

    /* admission */
    K("cpu_cost", SL_KEY_SECTION, NULL, "CPU cost of each job type, in cores"),
    KR("cpu_cost.max_cpu_utilization", SL_KEY_DOUBLE, "0.8", 0.01, 1.0,
       "fraction of all cores that jobs may use"),
    KR("cpu_cost.min_idle_ratio", SL_KEY_DOUBLE, NULL, 0.0, 0.99,
       "LiveKit ingress spelling: idle fraction to keep (1 - max_cpu_utilization)"),
    COST("cpu_cost.rtmp_cpu_cost", "2.0", "RTMP ingress with transcoding"),
    COST("cpu_cost.rtmp_bypass_transcoding_cpu_cost", "0.05", "RTMP ingress, passthrough"),
    COST("cpu_cost.whip_cpu_cost", "2.0", "WHIP ingress with transcoding"),
    COST("cpu_cost.whip_bypass_transcoding_cpu_cost", "0.1", "WHIP ingress, passthrough"),
    COST("cpu_cost.srt_cpu_cost", "2.0", "SRT ingress with transcoding"),
    COST("cpu_cost.url_cpu_cost", "2.0", "URL pull ingress"),
    COST("cpu_cost.room_composite_cpu_cost", "4.0", "room composite egress"),
    COST("cpu_cost.audio_room_composite_cpu_cost", "1.0", "audio-only room composite egress"),
    COST("cpu_cost.sdk_audio_room_composite_cpu_cost", "1.0", "SDK audio room composite egress"),
    COST("cpu_cost.web_cpu_cost", "4.0", "web egress"),
    COST("cpu_cost.audio_web_cpu_cost", "1.0", "audio-only web egress"),
    COST("cpu_cost.participant_cpu_cost", "2.0", "participant egress"),
    COST("cpu_cost.track_composite_cpu_cost", "1.0", "track composite egress"),
    COST("cpu_cost.track_cpu_cost", "0.5", "track egress"),
    K("cpu_cost.hold_time", SL_KEY_DURATION, "5s",
      "how long an accepted cost is held while the measurement catches up"),
    K("cpu_cost.max_memory", SL_KEY_DOUBLE, "0", "GB; 0 = no memory admission"),
    K("cpu_cost.memory_cost", SL_KEY_DOUBLE, "0", "GB per job"),
    K("cpu_cost.sdk_audio_room_composite_memory_cost", SL_KEY_DOUBLE, "0", "GB per job"),
    K("cpu_cost.memory_source", SL_KEY_STRING, "proc_rss", "proc_rss or cgroup"),
    K("cpu_cost.memory_kill_grace_sec", SL_KEY_INT, "0", "seconds over memory before a kill"),
    K("cpu_cost.cpu_kill_grace_sec", SL_KEY_INT, "30", "seconds over CPU before a kill"),
    UNUSED("cpu_cost.max_pulse_clients", SL_KEY_INT, "no PulseAudio"),

    /* session limits (seconds / bytes; 0 = no limit) */
    K("session_limits", SL_KEY_SECTION, NULL, "per-output limits"),
    K("session_limits.file_output_max_duration", SL_KEY_DURATION, "0", "file outputs"),
    KR("session_limits.file_output_max_size", SL_KEY_INT, "0", 0, 9.2e18, "bytes"),
    K("session_limits.stream_output_max_duration", SL_KEY_DURATION, "0", "stream outputs"),
    K("session_limits.segment_output_max_duration", SL_KEY_DURATION, "0", "segment outputs"),
    K("session_limits.image_output_max_duration", SL_KEY_DURATION, "0", "image outputs"),

    /* egress service keys */
    UNUSED("template_port", SL_KEY_PORT, "no Chrome templates"),
    UNUSED("template_base", SL_KEY_STRING, "no Chrome templates"),
    UNUSED("enable_chrome_sandbox", SL_KEY_BOOL, "no Chrome"),
    UNUSED("chrome_flags", SL_KEY_FREEMAP, "no Chrome"),
    UNUSED("insecure", SL_KEY_BOOL, "no Chrome"),
    K("max_upload_queue", SL_KEY_INT, "60", "minutes of segments allowed to queue for upload"),
    K("disallow_local_storage", SL_KEY_BOOL, "false", "refuse requests that write locally"),
    K("io_create_timeout", SL_KEY_DURATION, "15s", "bus create timeout"),
    K("io_update_timeout", SL_KEY_DURATION, "30s", "bus update timeout"),
    K("io_selection_timeout", SL_KEY_DURATION, "500ms", "bus selection timeout"),
    K("io_workers", SL_KEY_INT, "5", "bus workers"),
    K("video_encoder_threads", SL_KEY_INT, "0", "x264 threads (0 = auto)"),
    K("s3_assume_role_key", SL_KEY_STRING, NULL, "credentials for assume-role"),
    SECRET("s3_assume_role_secret", "credentials for assume-role"),
    K("s3_assume_role_arn", SL_KEY_STRING, NULL, "role"),
    K("s3_assume_role_external_id", SL_KEY_STRING, NULL, "external id"),
    K("latency", SL_KEY_ANY, NULL, "accepted; pipeline latencies are sluice's own"),
    K("debug", SL_KEY_ANY, NULL, "accepted; debug storage"),
    K("location", SL_KEY_STRING, NULL, "accepted; region hint"),

    /* storage */
    K("storage", SL_KEY_SECTION, NULL, "where finished outputs are uploaded"),
    K("storage.prefix", SL_KEY_STRING, NULL, "key prefix"),
    K("storage.generate_presigned_url", SL_KEY_BOOL, "false", "7-day presigned locations"),
    STORAGE_KEYS("storage."),
    K("backup", SL_KEY_SECTION, NULL, "fallback storage when an upload fails"),
    K("backup.prefix", SL_KEY_STRING, NULL, "key prefix"),
    K("backup.generate_presigned_url", SL_KEY_BOOL, "false", "7-day presigned locations"),
    STORAGE_KEYS("backup."),
    K("backup_storage", SL_KEY_STRING, NULL, "older egress spelling: a local backup directory"),
    /* older egress configs put one storage section at the top level */
    STORAGE_KEYS(""),

    /* webhooks, as LiveKit's server spells them */
    K("webhook", SL_KEY_SECTION, NULL, "where events are POSTed"),
    K("webhook.urls", SL_KEY_STRING_LIST, NULL, "receivers"),
    K("webhook.api_key", SL_KEY_STRING, NULL, "key whose secret signs them (default: api_key)"),

    /* what the API tells publishers (LiveKit server's `ingress:` section) */
    K("ingress", SL_KEY_SECTION, NULL, "URLs handed to publishers"),
    K("ingress.rtmp_base_url", SL_KEY_STRING, NULL,
      "RTMP URL in IngressInfo.url (default rtmp://<this host>:<rtmp_port>/live)"),
    K("ingress.whip_base_url", SL_KEY_STRING, NULL, "WHIP URL in IngressInfo.url"),

    /* static ingresses: a single node needs no API */
    K("ingresses", SL_KEY_LIST, NULL, "ingresses declared in the config"),
    KF("ingresses[].name", SL_KEY_STRING, NULL, SL_KEY_REQUIRED, "a name for people"),
    K("ingresses[].ingress_id", SL_KEY_STRING, NULL, "fixed id (default: derived from the name)"),
    KF("ingresses[].stream_key", SL_KEY_STRING, NULL, SL_KEY_SECRET,
       "key publishers use (default: generated at start-up and printed once)"),
    K("ingresses[].input_type", SL_KEY_STRING, "rtmp", "rtmp (RTMP_INPUT)"),
    K("ingresses[].room_name", SL_KEY_STRING, NULL, "room the session is published under"),
    K("ingresses[].participant_identity", SL_KEY_STRING, NULL, "publisher identity"),
    K("ingresses[].participant_name", SL_KEY_STRING, NULL, "publisher display name"),
    K("ingresses[].participant_metadata", SL_KEY_STRING, NULL, "publisher metadata"),
    K("ingresses[].enabled", SL_KEY_BOOL, "true", "accept publishers"),
    K("ingresses[].enable_transcoding", SL_KEY_BOOL, "false", "transcode instead of passthrough"),
    K("ingresses[].outputs", SL_KEY_SECTION, NULL, "outputs attached whenever it goes live"),
    K("ingresses[].outputs.file", SL_KEY_SECTION, NULL, "a recording"),
    K("ingresses[].outputs.file.filepath", SL_KEY_STRING, NULL,
      "file name template, relative to output_dir"),
    K("ingresses[].outputs.file.disable_manifest", SL_KEY_BOOL, "false", "no manifest"),
    /* where the recording is uploaded; without it, storage: (or the top-level section) */
    STORAGE_KEYS("ingresses[].outputs.file."),
    K("ingresses[].outputs.segments", SL_KEY_SECTION, NULL, "HLS"),
    K("ingresses[].outputs.segments.filename_prefix", SL_KEY_STRING, NULL,
      "segment name template, relative to output_dir"),
    K("ingresses[].outputs.segments.playlist_name", SL_KEY_STRING, "playlist.m3u8",
      "main playlist, next to the segments"),
    K("ingresses[].outputs.segments.live_playlist_name", SL_KEY_STRING, NULL,
      "sliding-window playlist (5 segments)"),
    KR("ingresses[].outputs.segments.segment_duration", SL_KEY_INT, "4", 1, 60, "seconds"),
    K("ingresses[].outputs.segments.filename_suffix", SL_KEY_STRING, "INDEX", "INDEX or TIMESTAMP"),
    K("ingresses[].outputs.segments.disable_manifest", SL_KEY_BOOL, "false", "no manifest"),
    STORAGE_KEYS("ingresses[].outputs.segments."),

    /* plugins */
    K("plugins", SL_KEY_SECTION, NULL, "which plugins load and their settings"),
    K("plugins.path", SL_KEY_STRING_LIST, NULL, "directories searched before the install dir"),
    K("plugins.enable", SL_KEY_STRING_LIST, NULL, "plugins to load (default: all shipped)"),

    {NULL, 0, NULL, 0, 0, NULL, 0, NULL},
};
