/* Egresses on live sessions: LiveKit's EgressInfo life cycle, run by the session's handler.
 *
 * A room composite, participant or track composite egress resolves to the live ingress session
 * published under that room (and identity); its file and segments outputs are added to that
 * session's running pipeline (session.h: add-output), and removed again on stop. Status follows
 * LiveKit: EGRESS_STARTING → EGRESS_ACTIVE → EGRESS_ENDING → EGRESS_COMPLETE | EGRESS_FAILED.
 * When the session ends (the publisher leaves) its egresses complete with what was recorded;
 * when its handler dies they fail with the reason.
 *
 * EgressInfo and requests are JSON objects keyed by LiveKit's proto field names (snake_case),
 * int64 values as JSON integers; the API layer converts to canonical protobuf JSON. Stored
 * requests are echoed with their storage secrets redacted.
 *
 * Ownership: the manager owns its EgressInfos; functions returning an info return a copy
 * (transfer full). Main thread only.
 */
#ifndef SL_EGRESS_H
#define SL_EGRESS_H

#include "ingress.h"
#include "session.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define SL_EGRESS_ERROR (sl_egress_error_quark())
GQuark sl_egress_error_quark(void);

typedef enum {
  SL_EGRESS_ERROR_INVALID,       /* the request is malformed or asks for nothing */
  SL_EGRESS_ERROR_NOT_FOUND,     /* no live session for the room / participant / egress */
  SL_EGRESS_ERROR_UNIMPLEMENTED, /* an output or option sluice cannot run yet */
  SL_EGRESS_ERROR_PRECONDITION,  /* the egress is not in a state that allows this */
  SL_EGRESS_ERROR_INTERNAL,
  SL_EGRESS_ERROR_REMOTE, /* the live session runs on another worker: the message is its id */
} SlEgressError;

/* EgressStatus numbers, as LiveKit's enum. */
typedef enum {
  SL_EGRESS_STARTING = 0,
  SL_EGRESS_ACTIVE = 1,
  SL_EGRESS_ENDING = 2,
  SL_EGRESS_COMPLETE = 3,
  SL_EGRESS_FAILED = 4,
  SL_EGRESS_ABORTED = 5,
  SL_EGRESS_LIMIT_REACHED = 6,
} SlEgressStatus;

const char *sl_egress_status_name(SlEgressStatus status);

typedef struct _SlEgresses SlEgresses;

/* Called after every change of an egress (transfer none), for events and webhooks. */
typedef void (*SlEgressChanged)(JsonObject *info, gpointer user_data);

SlEgresses *sl_egresses_new(SlSessions *sessions, SlIngressStore *ingresses);
void sl_egresses_free(SlEgresses *eg);
void sl_egresses_set_listener(SlEgresses *eg, SlEgressChanged fn, gpointer user_data);

/* Start an egress of `kind` ("room_composite", "participant", "track_composite", "track",
 * "web") from `request` (proto field names). Returns the new EgressInfo (EGRESS_STARTING). */
JsonObject *sl_egresses_start(SlEgresses *eg, const char *kind, JsonObject *request,
                              GError **error);

/* Stop: the outputs are finalised and the egress completes. Returns the EgressInfo
 * (EGRESS_ENDING, or already final). */
JsonObject *sl_egresses_stop(SlEgresses *eg, const char *egress_id, GError **error);

/* EgressInfos filtered by room (NULL: any), id (NULL: any) and activity. Transfer full. */
JsonArray *sl_egresses_list(SlEgresses *eg, const char *room_name, const char *egress_id,
                            gboolean active_only);

/* The current EgressInfo of `egress_id` (transfer full), or NULL. */
JsonObject *sl_egresses_get(SlEgresses *eg, const char *egress_id);

/* Feeds from the session manager (SlSessionsEnv callbacks). */
void sl_egresses_on_output_message(SlEgresses *eg, const char *session_id, JsonObject *msg);
void sl_egresses_on_session_ended(SlEgresses *eg, const char *session_id, SlIngressStatus status,
                                  const char *error);

G_END_DECLS

#endif /* SL_EGRESS_H */
