/* The job bus: what the workers of a cluster share.
 *
 *   store      ingress and egress infos (opaque JSON text) with their indexes
 *   ownership  which worker runs the live session of an ingress or an egress
 *   workers    a registry with heartbeats that expire
 *   dispatch   a job offered to the workers; the ones with room bid, exactly one runs it
 *   control    a request to one worker, answered within a timeout
 *   events     every state change, published on a topic
 *   failure    when a worker's heartbeat expires, exactly one survivor reaps what it owned
 *
 * Two backends sit behind one handle: `local` (in-process; a single node, or several buses in one
 * process joined with sl_bus_new_local_peer) and `redis` (hiredis's asynchronous API on the GLib
 * main loop; workers of a cluster share one Redis). Callers are written once for both: every
 * operation is asynchronous and completes through its callback on the main loop, never before
 * the call that started it has returned.
 *
 * Threading: every function here is for the thread that runs the default GLib main context (the
 * main thread); every callback is called there.
 *
 * Ownership: strings passed in are copied; strings, lists and errors passed to callbacks belong to
 * the bus and are valid only during the call. After sl_bus_free() no callback of that bus is
 * called again (pending operations are dropped silently; their user_data is not freed by the bus).
 *
 * Errors are in the SL_BUS_ERROR domain. UNAVAILABLE means "not now": the bus is not connected
 * (operations issued while Redis is unreachable fail at once rather than queue), no worker can
 * take a job, or the addressed worker is not connected.
 */
#ifndef SL_BUS_H
#define SL_BUS_H

#include <glib.h>

G_BEGIN_DECLS

#define SL_BUS_ERROR (sl_bus_error_quark())
GQuark sl_bus_error_quark(void);

typedef enum {
  SL_BUS_ERROR_NOT_FOUND,
  SL_BUS_ERROR_ALREADY_EXISTS,
  SL_BUS_ERROR_UNAVAILABLE,
  SL_BUS_ERROR_DEADLINE_EXCEEDED,
  SL_BUS_ERROR_INTERNAL,
  SL_BUS_ERROR_INVALID, /* a malformed argument: empty id, a job that is not a JSON object, ... */
} SlBusError;

/* What a stored record or an ownership claim is about. */
typedef enum {
  SL_BUS_INGRESS,
  SL_BUS_EGRESS,
} SlBusKind;

/* "ingress" / "egress". */
const char *sl_bus_kind_name(SlBusKind kind);

typedef struct _SlBus SlBus;

/* `redis.tls:` as LiveKit spells it (xtls.Config). Strings are borrowed for the call; NULL or ""
 * means unset. */
typedef struct {
  gboolean enabled;             /* use TLS with these settings (takes precedence over use_tls) */
  gboolean insecure;            /* accept any certificate and name */
  const char *server_name;      /* the name sent (SNI) and verified; default: the address's host */
  const char *ca_cert_file;     /* PEM roots that replace the system's */
  const char *client_cert_file; /* PEM client certificate; needs client_key_file */
  const char *client_key_file;  /* its PEM private key */
} SlRedisTlsConfig;

/* `redis:` as LiveKit spells it, plus the cluster id that keeps clusters sharing a Redis apart.
 * Strings are borrowed for the call. */
typedef struct {
  const char *address;    /* "host:port", "[v6]:port" or "host" (port 6379) */
  const char *username;   /* ACL user (Redis 6+), or NULL */
  const char *password;   /* NULL: no AUTH */
  int db;                 /* SELECT db */
  gboolean use_tls;       /* TLS 1.2+, system roots, the host's name (LiveKit's deprecated key) */
  SlRedisTlsConfig tls;   /* when tls.enabled, these settings instead of use_tls */
  const char *cluster_id; /* NULL or "": keys are "sluice:…"; else "sluice:<cluster_id>:…" */
} SlRedisConfig;

/* A single-node bus. `worker_id` names this worker; it must be unique among the buses that talk to
 * each other. Never fails. */
SlBus *sl_bus_new_local(const char *worker_id);

/* Another in-process bus that shares `peer`'s store, registry and messages (a cluster inside one
 * process, for tests and for simulating several workers). */
SlBus *sl_bus_new_local_peer(SlBus *peer, const char *worker_id);

/* A bus on Redis. Checks the config (an address that does not parse; with TLS, loads the CA and
 * client certificate files: errors in the SL_REDIS_TLS_ERROR domain, see redis-tls.h) and starts
 * connecting; returns at once. With TLS each connection goes through an in-process tunnel
 * (redis-tls.h); a TLS failure is a connection failure like any other, logged with its reason.
 * Operations issued while the first connection is being made wait for it (up to 1024 of them); once
 * connected, a lost connection is re-made with exponential backoff (100 ms doubling to 5 s), and
 * operations issued while it is down fail with UNAVAILABLE. A server that goes silent (3 s without
 * a reply while commands wait) counts as lost too.
 *
 * On every connection the bus asks the server for expired-key events (CONFIG SET
 * notify-keyspace-events, adding "Ex" to what is set). A server that refuses CONFIG (managed
 * Redis) is logged once: set `notify-keyspace-events Ex` in its configuration, or dead workers
 * are only reaped when a survivor (re)connects or meets their claims. */
SlBus *sl_bus_new_redis(const SlRedisConfig *config, const char *worker_id, GError **error);

/* Closes the bus as if the process had died: nothing is unregistered and nothing released, so
 * its heartbeat expires and a survivor reaps what it owned (call sl_bus_unregister first for a
 * clean exit). Pending operations are dropped without their callbacks. NULL is ignored. */
void sl_bus_free(SlBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlBus, sl_bus_free)

const char *sl_bus_worker_id(SlBus *bus);
/* "local" or "redis". */
const char *sl_bus_backend_name(SlBus *bus);
/* TRUE while operations can reach the store (always for local). */
gboolean sl_bus_is_connected(SlBus *bus);

/* Heartbeat TTL in ms (default 5000, at least 300). The heartbeat key is refreshed every TTL/3 by
 * a timer. Takes effect at the next sl_bus_register. */
void sl_bus_set_heartbeat_ttl(SlBus *bus, guint ttl_ms);

/* ---- Callbacks ------------------------------------------------------------------------------ */

/* An item of a list: a record's id and JSON, or a worker's id and registered info. */
typedef struct {
  char *id;
  char *json;
} SlBusItem;

/* A claim held by a worker. */
typedef struct {
  SlBusKind kind;
  char *id;
  char *session_id;
} SlBusClaim;

/* `error` NULL on success. */
typedef void (*SlBusDoneFunc)(SlBus *bus, const GError *error, gpointer user_data);
/* `json` is the value (NULL when `error` is set). */
typedef void (*SlBusValueFunc)(SlBus *bus, const char *json, const GError *error,
                               gpointer user_data);
/* `items` holds SlBusItem*, sorted by id (NULL when `error` is set). */
typedef void (*SlBusListFunc)(SlBus *bus, GPtrArray *items, const GError *error,
                              gpointer user_data);
typedef void (*SlBusOwnerFunc)(SlBus *bus, const char *worker_id, const char *session_id,
                               const GError *error, gpointer user_data);

/* ---- Store ---------------------------------------------------------------------------------- */

/* A record to put. `json` is stored and returned as it is; the bus never parses it. */
typedef struct {
  const char *id;
  const char *json;
  const char *room;       /* room index (NULL or "": none) */
  const char *stream_key; /* ingress: unique stream-key index (NULL or "": none) */
  gboolean active;        /* egress: member of the active set */
} SlBusRecord;

/* Creates or replaces a record and moves its index entries (a changed room or stream key drops
 * the old one). Fails with ALREADY_EXISTS when another ingress holds the stream key (nothing is
 * written then). Publishes the JSON on topic "<kind>/<id>". */
void sl_bus_put(SlBus *bus, SlBusKind kind, const SlBusRecord *record, SlBusDoneFunc func,
                gpointer user_data);

/* The record's JSON, or NOT_FOUND. */
void sl_bus_get(SlBus *bus, SlBusKind kind, const char *id, SlBusValueFunc func,
                gpointer user_data);

/* The ingress holding `stream_key`, or NOT_FOUND. */
void sl_bus_get_by_stream_key(SlBus *bus, const char *stream_key, SlBusValueFunc func,
                              gpointer user_data);

/* Records of a kind: all (room NULL) or those in `room`; for egresses `active_only` keeps those in
 * the active set (ignored for ingresses). */
void sl_bus_list(SlBus *bus, SlBusKind kind, const char *room, gboolean active_only,
                 SlBusListFunc func, gpointer user_data);

/* Removes a record and its index entries, or NOT_FOUND. Publishes "null" on "<kind>/<id>". */
void sl_bus_delete(SlBus *bus, SlBusKind kind, const char *id, SlBusDoneFunc func,
                   gpointer user_data);

/* ---- Ownership ------------------------------------------------------------------------------ */

/* Claims `id` for this bus's worker, atomically: fails with ALREADY_EXISTS, naming the owner, when
 * another worker holds it (a claim held by a worker whose heartbeat has lapsed also starts reaping
 * that worker). Claiming again what this worker holds replaces the session id. The bus remembers
 * its claims and puts them back after a reconnect or a lost heartbeat. */
void sl_bus_claim(SlBus *bus, SlBusKind kind, const char *id, const char *session_id,
                  SlBusDoneFunc func, gpointer user_data);

/* Drops this worker's claim on `id`; NOT_FOUND when it holds none (the message names the owner if
 * another worker holds it). */
void sl_bus_release(SlBus *bus, SlBusKind kind, const char *id, SlBusDoneFunc func,
                    gpointer user_data);

/* Who holds `id`, or NOT_FOUND. */
void sl_bus_owner(SlBus *bus, SlBusKind kind, const char *id, SlBusOwnerFunc func,
                  gpointer user_data);

/* ---- Workers -------------------------------------------------------------------------------- */

/* Registers this worker with `info_json` (its capacity and whatever else callers want to see in
 * sl_bus_list_workers) and starts the heartbeat. Calling it again replaces the info. The bus keeps
 * the registration alive across reconnects. Publishes the info on "worker/<id>". */
void sl_bus_register(SlBus *bus, const char *info_json, SlBusDoneFunc func, gpointer user_data);

/* A clean exit: stops the heartbeat, removes the worker and drops its claims. Publishes "null" on
 * "worker/<id>". */
void sl_bus_unregister(SlBus *bus, SlBusDoneFunc func, gpointer user_data);

/* Registered workers whose heartbeat is live: id and info JSON. */
void sl_bus_list_workers(SlBus *bus, SlBusListFunc func, gpointer user_data);

/* ---- Handlers: what this worker does when the bus asks ------------------------------------- */

/* Handed to on_job and on_control; answer with sl_bus_respond exactly once, now or later (the
 * responder is the handler's until then). */
typedef struct _SlBusResponder SlBusResponder;

typedef struct {
  /* A job offered to this worker (JSON {id, type, cost, target_worker, ...}). Decide now: return
   * TRUE to bid, after reserving the job's cost (the reservation is what makes the bid honest).
   * Exactly one of on_job or on_offer_lost follows a bid. NULL: never bid. */
  gboolean (*on_offer)(SlBus *bus, const char *job, gpointer user_data);
  /* Another worker won the job (or the requester gave up): release the reservation. */
  void (*on_offer_lost)(SlBus *bus, const char *job, gpointer user_data);
  /* This worker won the job: run it and answer with its result. */
  void (*on_job)(SlBus *bus, const char *job, SlBusResponder *responder, gpointer user_data);
  /* A control message for this worker (stop, update, ...). NULL: every request fails. */
  void (*on_control)(SlBus *bus, const char *message, SlBusResponder *responder,
                     gpointer user_data);
  /* A worker's heartbeat expired and this worker won the right to reap it: mark what it owned
   * (`claims` holds SlBusClaim*) failed, with a reason. Called once per dead worker across the
   * cluster; the claims are dropped when it returns. Only buses with this handler reap. */
  void (*on_worker_dead)(SlBus *bus, const char *worker_id, GPtrArray *claims, gpointer user_data);
  /* The bus has reconnected (or its heartbeat lease had lapsed) and has put back its registration
   * and claims: put back anything else this worker keeps current (records of live sessions). */
  void (*on_resync)(SlBus *bus, gpointer user_data);
} SlBusHandlers;

/* Copies `handlers`; `user_data` is passed to each. */
void sl_bus_set_handlers(SlBus *bus, const SlBusHandlers *handlers, gpointer user_data);

/* Answers a job or a control request with `reply_json` (success) or `error` (its code and message
 * reach the requester) and frees the responder. Safe after the requester gave up or the bus was
 * freed (the answer is dropped). */
void sl_bus_respond(SlBusResponder *responder, const char *reply_json, const GError *error);

/* ---- Dispatch and control ------------------------------------------------------------------ */

/* Offers `job_json` (an object with a string "id", unique per dispatch, and an optional
 * "target_worker") to every live worker, or only to `target_worker` (a request for a live session
 * goes to its owner). The first worker to bid wins, runs the job, and its answer comes back as the
 * JSON. Fails with UNAVAILABLE when no worker is connected or every worker declined, and with
 * DEADLINE_EXCEEDED when no answer came within `timeout_ms` (the message says whether a worker
 * had taken the job). */
void sl_bus_dispatch(SlBus *bus, const char *job_json, guint timeout_ms, SlBusValueFunc func,
                     gpointer user_data);

/* Sends `message_json` to `worker_id`'s on_control and returns its answer. UNAVAILABLE when that
 * worker is not connected, DEADLINE_EXCEEDED after `timeout_ms`. */
void sl_bus_control(SlBus *bus, const char *worker_id, const char *message_json, guint timeout_ms,
                    SlBusValueFunc func, gpointer user_data);

/* sl_bus_control to whichever worker holds `id` (NOT_FOUND when none does). */
void sl_bus_control_owner(SlBus *bus, SlBusKind kind, const char *id, const char *message_json,
                          guint timeout_ms, SlBusValueFunc func, gpointer user_data);

/* ---- Events --------------------------------------------------------------------------------- */

/* Topics: "ingress/<id>", "egress/<id>", "worker/<id>" (published by the bus), and any a caller
 * publishes. A subscription's topic is exact, or ends in a star and then matches every
 * topic that starts with what precedes the star (a lone star matches everything). */
typedef void (*SlBusEventFunc)(SlBus *bus, const char *topic, const char *json, gpointer user_data);
typedef gboolean (*SlBusPredicate)(const char *topic, const char *json, gpointer user_data);

/* Publishes `json` on `topic` to every bus of the cluster (this one included). */
void sl_bus_publish(SlBus *bus, const char *topic, const char *json, SlBusDoneFunc func,
                    gpointer user_data);

/* Calls `func` for every event on `topic` from now on, until sl_bus_unsubscribe (which calls
 * `destroy` on `user_data`). Events published while the bus is disconnected are missed. Returns
 * an id > 0. */
guint sl_bus_subscribe(SlBus *bus, const char *topic, SlBusEventFunc func, gpointer user_data,
                       GDestroyNotify destroy);
void sl_bus_unsubscribe(SlBus *bus, guint subscription_id);

/* Waits for the first event on `topic` for which `predicate` (NULL: any) returns TRUE and passes
 * its JSON to `func`; DEADLINE_EXCEEDED after `timeout_ms`, UNAVAILABLE when the bus is not
 * connected or loses its connection meanwhile.
 * Call it before the action whose outcome it waits for. `user_data` goes to both callbacks. */
void sl_bus_wait_for(SlBus *bus, const char *topic, SlBusPredicate predicate, guint timeout_ms,
                     SlBusValueFunc func, gpointer user_data);

/* ===========================================================================================
 * Internal: the backend interface (core/bus*.c) and the wire protocol's pure helpers (also used
 * by the unit tests). Define SL_BUS_INTERNAL before including this header to see it.
 * =========================================================================================== */
#ifdef SL_BUS_INTERNAL

/* How long a job's owner key lives: long enough that a retried dispatch of the same id cannot
 * start a second runner while the first may still be answering. */
#define SL_BUS_JOB_KEY_MIN_TTL_MS 60000
/* How long a reaper may take before another survivor can try again. */
#define SL_BUS_REAP_LOCK_MS 30000
/* Operations that may wait for a Redis bus's first connection. */
#define SL_BUS_MAX_QUEUED 1024

/* ---- Key and channel names ---- */

/* "sluice:" or "sluice:<cluster_id>:" (transfer full). */
char *sl_bus_key_prefix(const char *cluster_id);
/* `prefix` followed by the parts joined with ':' (NULL-terminated; transfer full):
 * sl_bus_key("sluice:", "hb", "w1", NULL) is "sluice:hb:w1". */
char *sl_bus_key(const char *prefix, const char *first, ...) G_GNUC_NULL_TERMINATED;
/* The channel of events on `topic`: "<prefix>ev:<topic>". */
char *sl_bus_event_channel(const char *prefix, const char *topic);
/* The topic of an event channel, or NULL if `channel` is not one (points into `channel`). */
const char *sl_bus_event_topic(const char *prefix, const char *channel);
/* If `key` is a worker's heartbeat ("<prefix>hb:<w>") or reap lock ("<prefix>reap:<w>"), the
 * worker id (transfer full); else NULL. */
char *sl_bus_expired_key_worker(const char *prefix, const char *key);
/* `s` with Redis glob metacharacters escaped (transfer full). */
char *sl_bus_glob_escape(const char *s);
/* Whether a subscription topic (exact, or a prefix ending in '*') matches `topic`. */
gboolean sl_bus_topic_matches(const char *pattern, const char *topic);

/* The notify-keyspace-events value that adds expired-key events ("E" and "x", unless "A" covers
 * them) to `current`; NULL when `current` already has them (transfer full). */
char *sl_bus_keyspace_flags_merge(const char *current);

/* Splits "host:port", "[v6]:port" or "host" (port 6379). */
gboolean sl_bus_parse_address(const char *address, char **host, int *port, GError **error);

/* ---- Messages between buses ----
 * A frame is one JSON object of string members (and "code", an integer):
 *   offer    {t, req, from, id, ttl, body: job}          requester → offers channel or inbox
 *   decline  {t, req, from}                              worker → requester's inbox
 *   result   {t, req, from, body | code + msg}           winner → requester's inbox
 *   control  {t, req, from, body: message}               requester → worker's inbox
 * `from` is the sender's worker id; answers go to "<prefix>inbox:<from>". */
typedef struct {
  char *type;
  char *req;
  char *from;
  char *id;
  char *body;
  char *msg;
  gint64 ttl;
  int code; /* SlBusError + 1 when the result is an error; 0 otherwise */
} SlBusFrame;

char *sl_bus_frame_encode(const SlBusFrame *frame);
/* FALSE (error set) when `text` is not a frame: not JSON, not an object, no type or req. */
gboolean sl_bus_frame_decode(const char *text, SlBusFrame *frame, GError **error);
void sl_bus_frame_clear(SlBusFrame *frame);

/* The "id" and "target_worker" (NULL when absent or null) of a job. */
gboolean sl_bus_job_parse(const char *job_json, char **id, char **target_worker, GError **error);

/* ---- Operations: one per call, completed exactly once by the backend ---- */

typedef struct _SlBusOp SlBusOp;
typedef void (*SlBusOpFunc)(SlBusOp *op);

struct _SlBusOp {
  SlBus *bus;           /* NULL once the bus is freed: the op is then dropped */
  SlBusOpFunc complete; /* how the result reaches the caller */
  gpointer func;        /* the caller's callback, typed by `complete` */
  gpointer user_data;
  gpointer data; /* the caller's private state */
  GDestroyNotify data_free;
  /* Results, filled by the backend. */
  GError *error;
  char *value;
  char *value2;
  gint64 num;
  GPtrArray *items; /* SlBusItem* or SlBusClaim*, with a free function */
  /* Backend bookkeeping. */
  gpointer backend_func;
  char *subject; /* what the op is about, for the backend's error messages */
  guint idle_id;
  GList link;
};

SlBusOp *sl_bus_op_new(SlBus *bus, SlBusOpFunc complete, gpointer func, gpointer user_data);
/* Delivers the result now (from a reply callback) and frees the op. */
void sl_bus_op_finish(SlBusOp *op);
/* Delivers the result from an idle callback (from within the call that started it). */
void sl_bus_op_finish_later(SlBusOp *op);
void sl_bus_op_fail_later(SlBusOp *op, SlBusError code, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
void sl_bus_op_set_error(SlBusOp *op, SlBusError code, const char *format, ...) G_GNUC_PRINTF(3, 4);

SlBusItem *sl_bus_item_new(const char *id, const char *json);
void sl_bus_item_free(gpointer item);
SlBusClaim *sl_bus_claim_new(SlBusKind kind, const char *id, const char *session_id);
void sl_bus_claim_free(gpointer claim);

/* ---- Backends ----
 * Each function starts one operation and completes `op` exactly once, never before returning
 * (sl_bus_op_finish_later when the answer is known at once). What each sets in the op:
 *   get, get_by_stream_key   value = JSON (NOT_FOUND)
 *   list, list_workers       items = SlBusItem*
 *   claim                    on ALREADY_EXISTS: value = owner, value2 = session, num = owner alive
 *   owner                    value = worker, value2 = session (NOT_FOUND)
 *   heartbeat                num = 1 refreshed, 0 the lease had lapsed (nothing written)
 *   publish                  num = how many buses received it
 *   set_nx                   num = 1 set, 0 already held (value = holder)
 *   reap_begin               num = 1 this bus reaps (items = SlBusClaim*), 0 not
 *   dead_workers             items = SlBusItem* (id only) of registered workers without
 *                            heartbeat or reaper
 * Backends deliver what arrives on the bus's channels with sl_bus_receive and expired heartbeats
 * with sl_bus_worker_expired, and report their connection with sl_bus_backend_up/_down. */
typedef struct {
  const char *name;
  void (*put)(SlBus *bus, SlBusKind kind, const SlBusRecord *record, SlBusOp *op);
  void (*get)(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op);
  void (*get_by_stream_key)(SlBus *bus, const char *stream_key, SlBusOp *op);
  void (*list)(SlBus *bus, SlBusKind kind, const char *room, gboolean active_only, SlBusOp *op);
  void (*remove)(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op);
  void (*claim)(SlBus *bus, SlBusKind kind, const char *id, const char *session_id, SlBusOp *op);
  void (*release)(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op);
  void (*owner)(SlBus *bus, SlBusKind kind, const char *id, SlBusOp *op);
  void (*register_worker)(SlBus *bus, const char *info, guint ttl_ms, SlBusOp *op);
  void (*heartbeat)(SlBus *bus, guint ttl_ms, SlBusOp *op);
  void (*unregister_worker)(SlBus *bus, SlBusOp *op);
  void (*list_workers)(SlBus *bus, SlBusOp *op);
  void (*publish)(SlBus *bus, const char *channel, const char *payload, SlBusOp *op);
  void (*set_nx)(SlBus *bus, const char *key, const char *value, guint ttl_ms, SlBusOp *op);
  void (*reap_begin)(SlBus *bus, const char *worker_id, guint lock_ms, SlBusOp *op);
  void (*reap_end)(SlBus *bus, const char *worker_id, SlBusOp *op);
  void (*dead_workers)(SlBus *bus, SlBusOp *op);
  gboolean (*is_connected)(SlBus *bus);
  /* Releases the backend's resources and the bus's memory (the common part is already gone). */
  void (*destroy)(SlBus *bus);
} SlBusBackend;

/* The common part of every bus; a backend's struct starts with it. */
struct _SlBus {
  const SlBusBackend *backend;
  gpointer impl; /* the backend's state */
  int busy;      /* main-loop entry points on the stack (see bus.c) */
  gboolean freed;
  char *worker_id;
  char *prefix;        /* key prefix */
  char *ch_offers;     /* broadcast offers */
  char *ch_inbox;      /* this worker's offers, control requests and answers */
  char *ch_event_glob; /* the pattern of every event channel */
  SlBusHandlers handlers;
  gpointer handlers_data;
  guint ttl_ms;
  char *worker_info; /* NULL until registered */
  guint heartbeat_id;
  gboolean heartbeat_inflight;
  GHashTable *claims;   /* "kind:id" → session id: what this worker holds, for resync */
  GHashTable *requests; /* request id → dispatch, control or wait in flight */
  GQueue ops;           /* operations in flight */
  GList *subs;
  guint next_sub_id;
  int delivering;
  GHashTable *responders; /* responders handed out and not yet answered */
  GHashTable *reaping;    /* worker ids this bus is reaping */
  guint scan_id;
  gboolean connected_once;
  gint64 up_since; /* monotonic µs of the last (re)connection */
  guint resync_pending;
  gboolean resync_notify;
};

void sl_bus_init(SlBus *bus, const SlBusBackend *backend, const char *worker_id,
                 const char *cluster_id);
/* A message on one of the bus's channels (the offers channel, its inbox, an event channel). */
void sl_bus_receive(SlBus *bus, const char *channel, const char *payload);
/* Some worker's heartbeat (or reap lock) expired. */
void sl_bus_worker_expired(SlBus *bus, const char *worker_id);
/* The backend connected (first time or again) / lost its connection. Call from a main-loop
 * callback of the backend's own, not from inside the client library. */
void sl_bus_backend_up(SlBus *bus);
void sl_bus_backend_down(SlBus *bus);

#endif /* SL_BUS_INTERNAL */

G_END_DECLS

#endif /* SL_BUS_H */
