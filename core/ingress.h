/* Ingresses: stored endpoints (LiveKit's IngressInfo) and their live state (IngressState).
 *
 * For now the store holds the ingresses declared in the config (`ingresses:`); the API adds
 * more. State follows LiveKit: ENDPOINT_INACTIVE → ENDPOINT_BUFFERING → ENDPOINT_PUBLISHING →
 * ENDPOINT_INACTIVE (reusable) | ENDPOINT_COMPLETE (one-shot) | ENDPOINT_ERROR.
 *
 * Ownership: the store owns its ingresses; pointers returned are transfer none and valid while
 * the ingress stays in the store. Main thread only.
 */
#ifndef SL_INGRESS_H
#define SL_INGRESS_H

#include "config.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  SL_INGRESS_INACTIVE = 0,
  SL_INGRESS_BUFFERING = 1,
  SL_INGRESS_PUBLISHING = 2,
  SL_INGRESS_ERROR = 3,
  SL_INGRESS_COMPLETE = 4,
} SlIngressStatus;

typedef struct {
  char *id; /* IN_... */
  char *name;
  char *stream_key;
  char *input_type; /* "rtmp" */
  char *room_name;
  char *participant_identity;
  char *participant_name;
  gboolean enabled;
  gboolean reusable;
  gboolean transcoding;
  gboolean key_generated; /* the config gave no key: one was made at start-up */
  JsonObject *outputs;    /* {"file": {...}, "segments": {...}} as configured, or NULL */

  SlIngressStatus status;
  char *error;
  char *resource_id; /* the live session's id (RT_...) */
  JsonObject *video; /* InputVideoState of the live session (proto field names), or NULL */
  JsonObject *audio; /* InputAudioState, or NULL */
  char *participant_metadata;
  gint64 started_at; /* ns since the epoch, 0 when never */
  gint64 ended_at;
  gint64 updated_at;

  /* Cluster (cluster.h): the worker whose handler runs the live session (this one's node id for
   * a local session), NULL when none; and whether the ingress came from a config file. */
  char *owner;
  gboolean from_config;
} SlIngress;

typedef struct _SlIngressStore SlIngressStore;

SlIngressStore *sl_ingress_store_new(void);
void sl_ingress_store_free(SlIngressStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlIngressStore, sl_ingress_store_free)

/* Load the `ingresses:` list of a validated config. Problems (duplicate names or keys, an input
 * type sluice cannot take, a bad suffix) are reported as "FILE:LINE: KEY: problem". */
gboolean sl_ingress_store_load_config(SlIngressStore *store, SlConfig *config, GError **error);

/* Add an ingress made through the API (takes ownership). Fails with SL_CONFIG_ERROR_INVALID when
 * its name-independent id or stream key is already taken. */
gboolean sl_ingress_store_add(SlIngressStore *store, SlIngress *ing, GError **error);
/* Remove an ingress from the store and free it: `ing` is invalid afterwards. */
void sl_ingress_store_remove(SlIngressStore *store, SlIngress *ing);
/* A new ingress with a random id (IN_...) and stream key; fields to be filled by the caller. */
SlIngress *sl_ingress_new_random(void);
void sl_ingress_free(SlIngress *ing);

SlIngress *sl_ingress_store_by_key(SlIngressStore *store, const char *stream_key);
SlIngress *sl_ingress_store_by_id(SlIngressStore *store, const char *id);
/* All ingresses in declaration order (transfer none). */
GPtrArray *sl_ingress_store_list(SlIngressStore *store);

/* The whole ingress as a bus record: IngressInfo's fields (proto names) plus what sluice keeps
 * beside them ("owner", "from_config", "outputs", "key_generated"). Transfer full. */
JsonObject *sl_ingress_to_record(SlIngress *ing);
/* A new ingress from a record, or NULL when it lacks an id or a stream key. */
SlIngress *sl_ingress_from_record(JsonObject *rec);
/* Takes a record's settings (name, room, identity, enabled, ...) into `ing`, and its live state
 * (status, error, times, session, tracks, owner) too when `with_state`. A changed stream key is
 * re-indexed in `store`. */
void sl_ingress_apply_record(SlIngressStore *store, SlIngress *ing, JsonObject *rec,
                             gboolean with_state);

/* Move to `status`, stamping started_at / ended_at / updated_at as LiveKit does. `error`
 * (copied) is kept for ENDPOINT_ERROR; the first error of a session wins. */
void sl_ingress_set_status(SlIngress *ing, SlIngressStatus status, const char *error);

const char *sl_ingress_status_name(SlIngressStatus status);

G_END_DECLS

#endif /* SL_INGRESS_H */
